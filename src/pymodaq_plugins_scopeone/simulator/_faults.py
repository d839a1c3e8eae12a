"""Fault hooks, so tests can make the microscope misbehave on purpose.

All methods are thread-safe and can be called from any thread while the simulator runs. The
same hooks are reachable over the wire with the simulator-only request
``{"type": "sim_fault", "action": ..., ...}`` when ``SimulatorConfig.fault_requests`` is on
(see :data:`FAULT_ACTIONS`).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Optional, Protocol


class FaultTarget(Protocol):
    """What the hooks act on (implemented by the running simulator)."""

    def stall(self, seconds: Optional[float]) -> None: ...

    def resume(self) -> None: ...

    def drop_connections(self) -> int: ...

    def release_hung_moves(self) -> int: ...


class Faults:
    """Switches read by the simulator; see each method for its effect."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._move_faults: List[str] = []
        self._drop_next_request = False
        self._stamp_checksums = False
        self._target: Optional[FaultTarget] = None

    def attach(self, target: Optional[FaultTarget]) -> None:
        """Bind to the running simulator (``None`` detaches)."""
        self._target = target

    def _require_target(self) -> FaultTarget:
        if self._target is None:
            raise RuntimeError("the simulator is not running")
        return self._target

    # -- stage moves ---------------------------------------------------------------------------

    def fail_next_move(self, count: int = 1) -> None:
        """The next ``count`` moves fail at once with ``"Stage move failed"`` (stage stays put)."""
        with self._lock:
            self._move_faults.extend(["fail"] * count)

    def hang_next_move(self, count: int = 1) -> None:
        """The next ``count`` moves stop half-way and never answer (until released)."""
        with self._lock:
            self._move_faults.extend(["hang"] * count)

    def take_move_fault(self) -> Optional[str]:
        """Consume the next planned move fault (``"fail"``, ``"hang"`` or ``None``)."""
        with self._lock:
            return self._move_faults.pop(0) if self._move_faults else None

    def release_hung_moves(self) -> int:
        """Answer every hung move with ``"Stage move failed"``; return how many."""
        return self._require_target().release_hung_moves()

    # -- control channel -----------------------------------------------------------------------

    def stall(self, seconds: Optional[float] = None) -> None:
        """Freeze the control channel (nothing read, accepted or sent) for ``seconds`` (None: until
        :meth:`resume`). Like ScopeOne's GUI thread being busy: clients stay connected."""
        self._require_target().stall(seconds)

    def resume(self) -> None:
        """End a stall; buffered requests are then served and held responses sent."""
        self._require_target().resume()

    def drop_connections(self) -> int:
        """Close every client connection now, without answering; return how many."""
        return self._require_target().drop_connections()

    def drop_next_request(self) -> None:
        """Close the connection that sends the next request, without answering it."""
        with self._lock:
            self._drop_next_request = True

    def take_drop_request(self) -> bool:
        """Consume the "drop next request" switch."""
        with self._lock:
            drop, self._drop_next_request = self._drop_next_request, False
            return drop

    # -- frames --------------------------------------------------------------------------------

    @property
    def stamp_checksums(self) -> bool:
        """When True every new frame carries a CRC-32 stamp (see :func:`verify_frame_checksum`)."""
        return self._stamp_checksums

    @stamp_checksums.setter
    def stamp_checksums(self, enabled: bool) -> None:
        self._stamp_checksums = bool(enabled)

    def reset(self) -> None:
        """Clear pending move faults, the drop switch and checksum stamping (does not resume)."""
        with self._lock:
            self._move_faults.clear()
            self._drop_next_request = False
            self._stamp_checksums = False


def _stall_action(faults: Faults, request: Dict[str, Any]) -> Any:
    seconds = request.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 600:
        raise ValueError("stall needs seconds: a number in (0, 600]")
    faults.stall(float(seconds))
    return None


def _checksum_action(faults: Faults, request: Dict[str, Any]) -> Any:
    enabled = request.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("enabled must be a boolean")
    faults.stamp_checksums = enabled
    return None


FAULT_ACTIONS: Dict[str, Callable[[Faults, Dict[str, Any]], Any]] = {
    "fail_next_move": lambda f, r: f.fail_next_move(),
    "hang_next_move": lambda f, r: f.hang_next_move(),
    "release_hung_moves": lambda f, r: f.release_hung_moves(),
    "stall": _stall_action,
    "drop_connections": lambda f, r: f.drop_connections(),
    "drop_next_request": lambda f, r: f.drop_next_request(),
    "checksum": _checksum_action,
    "reset": lambda f, r: f.reset(),
}
"""``sim_fault`` actions: ``stall`` needs ``seconds`` (0–600); ``checksum`` takes ``enabled``."""
