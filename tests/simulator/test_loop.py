"""The stand-in's event loop: timers."""

from __future__ import annotations

import gc
import weakref

from pymodaq_plugins_scopeone.simulator._loop import EventLoop


class _Owner:
    def fire(self) -> None:
        raise AssertionError("a cancelled timer ran")


def test_a_cancelled_timer_lets_go_of_its_callback_at_once() -> None:
    loop = EventLoop()  # not started: the timer stays in the heap, as a far-off one would
    try:
        owner = _Owner()
        owner.timer = loop.call_later(3600.0, owner.fire)  # owner → timer → bound method → owner: a cycle
        gone = weakref.ref(owner)
        gc.disable()
        try:
            owner.timer.cancel()
            del owner
            assert gone() is None  # freed by reference counting, not left to the cyclic collector
        finally:
            gc.enable()
    finally:
        loop.stop()
