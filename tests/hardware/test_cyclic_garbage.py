"""CyclicGarbage: full collections at most once per period, freezing the survivors when slow."""

from __future__ import annotations

import gc
import weakref
from typing import Iterator, List

import numpy as np
import pytest

from pymodaq_plugins_scopeone.hardware.cyclic_garbage import CyclicGarbage


class SelfReferencing:
    """Like a PyMoDAQ DataWithAxes: an object with a reference cycle holding an array."""

    def __init__(self) -> None:
        self.pixels = np.zeros(1024, dtype=np.uint16)
        self.me = self


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    """Only the collections under test free cycles (and nothing stays frozen afterwards)."""
    thresholds = gc.get_threshold()
    gc.collect()
    gc.set_threshold(0)  # the collector stays enabled but never runs by itself
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        gc.enable()


def cyclic_garbage(count: int) -> List[weakref.ref]:
    return [weakref.ref(SelfReferencing()) for _ in range(count)]


def alive(refs: List[weakref.ref]) -> int:
    return sum(ref() is not None for ref in refs)


def test_collects_cycles_at_most_once_per_period(no_automatic_collection):
    clock = ManualClock()
    garbage = CyclicGarbage(period_s=1.0, freeze_above_s=10.0, clock=clock)
    first = cyclic_garbage(5)
    garbage.frame_delivered()
    assert alive(first) == 0
    second = cyclic_garbage(5)
    clock.now = 0.9
    garbage.frame_delivered()
    assert alive(second) == 5, "collected again before the period ended"
    clock.now = 1.0
    garbage.frame_delivered()
    assert alive(second) == 0


def test_a_slow_collection_freezes_the_survivors_and_thaw_gives_them_back(no_automatic_collection):
    garbage = CyclicGarbage(period_s=1.0, freeze_above_s=0.0)  # every collection counts as slow
    survivor = SelfReferencing()
    dead = cyclic_garbage(3)
    garbage.frame_delivered()
    assert alive(dead) == 0, "garbage must be collected before anything is frozen"
    assert gc.get_freeze_count() > 0
    assert not any(obj is survivor for obj in gc.get_objects())  # frozen: no longer scanned
    garbage.thaw()
    assert gc.get_freeze_count() == 0
    assert any(obj is survivor for obj in gc.get_objects())
    again = cyclic_garbage(3)
    garbage.frame_delivered()  # thaw also restarts the period
    assert alive(again) == 0


def test_a_fast_collection_freezes_nothing():
    garbage = CyclicGarbage(period_s=1.0, freeze_above_s=10.0)
    garbage.frame_delivered()
    assert gc.get_freeze_count() == 0


def test_does_nothing_when_the_application_disabled_the_collector(no_automatic_collection):
    gc.disable()
    garbage = CyclicGarbage(period_s=0.0, freeze_above_s=0.0)
    refs = cyclic_garbage(3)
    garbage.frame_delivered()
    assert alive(refs) == 3 and gc.get_freeze_count() == 0


def test_thaw_leaves_objects_frozen_by_someone_else():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        CyclicGarbage().thaw()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
