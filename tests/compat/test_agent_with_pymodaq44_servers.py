"""Issue 4 item 7: the agent works with PyMoDAQ 4.4's own TCP server plugins.

A headless PyMoDAQ 4.4.11 session in the side environment (``pymodaq44_tcpserver_session.py``)
runs a ``DAQ_Viewer`` with pymodaq_plugins_mock's ``DAQ_2DViewer_TCPServer`` and a ``DAQ_Move``
with ``DAQ_Move_TCPServer``, each listening on its own free loopback port. Two agents, started
here from the main environment with the ScopeOne stand-in in-process (``--simulate``), connect:
one serves the camera to the viewer's port (``--axes ''``), one serves the Z axis to the mover's
port. The 4.4 modules snap frames and move the axis through them; the session reports what
PyMoDAQ 4.4 itself saw, and this test checks it.

A 4.4 server plugin accepts one client type (``GRABBER`` for a viewer, ``ACTUATOR`` for a
mover) on its port and closes any other. The axis agent cannot be told to serve no camera, so
it also knocks on the mover's port with a ``GRABBER`` connection that the 4.4 plugin refuses;
the move session must work regardless.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

try:
    from side_env import isolated_environ
except ImportError:  # tests/ is a package
    from tests.side_env import isolated_environ

SCRIPT = Path(__file__).with_name("pymodaq44_tcpserver_session.py")
FRAMES = 6
TARGETS = (12.5, -30.0, 100.0)
REL_STEP = 5.0
CAMERA_SHAPE = (512, 512)
EXTRA_ATTRIBUTES = {"frame_index", "timestamp_ns", "exposure_ms", "roi", "binning", "bits_per_sample", "camera"}
SESSION_DEADLINE_S = 90.0


class LineReader:
    """Lines of a pipe, read by a daemon thread, handed out with a timeout."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.seen: list[bytes] = []
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[bytes]) -> None:
        for line in iter(pipe.readline, b""):
            self.lines.put(line)
        self.lines.put(None)

    def event(self, name: str, timeout_s: float, describe: Any) -> dict[str, Any]:
        """The next JSON line whose ``event`` is ``name`` (AssertionError on EOF or timeout)."""
        end = time.monotonic() + timeout_s
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {name!r} event within {timeout_s} s\n{describe()}") from None
            if line is None:
                raise AssertionError(f"the PyMoDAQ 4.4 session ended before its {name!r} event\n{describe()}")
            self.seen.append(line)
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                if isinstance(message, dict) and message.get("event") == name:
                    return message
                if isinstance(message, dict) and message.get("event") == "error":
                    raise AssertionError(f"the PyMoDAQ 4.4 session failed: {message}\n{describe()}")


def _tail(file: IO[bytes], limit: int = 6000) -> str:
    file.flush()
    file.seek(0)
    return file.read().decode(errors="replace")[-limit:]


def _stop(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> int | None:
    """SIGTERM, wait; kill the process group if it does not exit. The exit code (None if killed)."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
        return None


@contextlib.contextmanager
def _processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every process started in the block is gone (its whole group killed) when it ends."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
            for pipe in (process.stdin, process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()


def _agent(port: int, extra: list[str], stderr: IO[bytes]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    command = [sys.executable, "-m", "pymodaq_plugins_scopeone.agent", "--server", f"127.0.0.1:{port}", "--simulate"]
    return subprocess.Popen(
        [*command, *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        env=env,
        start_new_session=True,
    )


def _shm_of(pid: int) -> set[str]:
    """Shared-memory blocks of the stand-in of process ``pid`` (named ``<prefix>.<pid>.<hex>``)."""
    return {name for name in os.listdir("/dev/shm") if f".{pid}." in name}


@pytest.mark.side_env
@pytest.mark.timeout(1200)  # the first side-env test may build the environment
def test_pymodaq44_viewer_and_move_tcpserver_plugins_drive_the_agent(side_python: Path) -> None:
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scopeone-compat44-")))
        logs = {name: stack.enter_context(tempfile.TemporaryFile()) for name in ("session", "camera", "axis")}
        started = stack.enter_context(_processes())
        session = subprocess.Popen(
            [
                str(side_python),
                "-s",
                str(SCRIPT),
                "--frames",
                str(FRAMES),
                "--targets",
                ",".join(map(str, TARGETS)),
                "--rel",
                str(REL_STEP),
                "--deadline",
                str(SESSION_DEADLINE_S),
            ],
            env=isolated_environ(root, side_python),
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=logs["session"],
            start_new_session=True,
        )
        started.append(session)
        assert session.stdout is not None and session.stdin is not None
        reader = LineReader(session.stdout)

        def describe() -> str:
            return "\n".join(f"--- {name} stderr:\n{_tail(log)}" for name, log in logs.items())

        t_start = time.monotonic()
        ports = reader.event("listening", 60, describe)
        assert isinstance(ports["viewer_port"], int) and isinstance(ports["move_port"], int), ports
        camera_agent = _agent(ports["viewer_port"], ["--camera", "Camera", "--axes", ""], logs["camera"])
        started.append(camera_agent)
        axis_agent = _agent(ports["move_port"], ["--axes", "Z"], logs["axis"])
        started.append(axis_agent)

        summary = reader.event("summary", SESSION_DEADLINE_S, describe)
        t_summary = time.monotonic()
        agent_codes = {"camera": _stop(camera_agent), "axis": _stop(axis_agent)}
        session.stdin.write(b"agents stopped\n")
        session.stdin.flush()
        final = reader.event("final", 30, describe)
        try:
            session_code = session.wait(30)
        except subprocess.TimeoutExpired:
            session_code = None
        report = describe()
        leftover_shm = _shm_of(camera_agent.pid) | _shm_of(axis_agent.pid)

    print(json.dumps({k: v for k, v in summary.items() if k != "frames"}, indent=1)[:6000])
    print("snap times (s):", [frame["t_s"] for frame in summary["frames"]], "median", summary["snap_s"]["median"])
    print(f"session up to summary: {t_summary - t_start:.1f} s")

    # -- nothing went wrong in the 4.4 session, everybody exited cleanly ----------------------------
    assert summary["errors"] == [], f"{summary['errors']}\n{report}"
    assert final["errors"] == [], f"{final['errors']}\n{report}"
    assert agent_codes == {"camera": 0, "axis": 0}, f"{agent_codes}\n{report}"
    assert session_code == 0, f"the 4.4 session exited with {session_code}\n{report}"
    assert final["disconnects"] == {"viewer_client_gone": True, "mover_client_gone": True}, final
    assert leftover_shm == set()

    # -- frames: the camera's shape and dtype, the agent's extra attributes, fresh and in order -----
    frames = summary["frames"]
    assert len(frames) == FRAMES, report
    indexes = []
    for frame in frames:
        assert len(frame["dwa"]) == 1, frame
        dwa = frame["dwa"][0]
        assert dwa["class"] == "DataFromPlugins" and dwa["dim"] == "Data2D" and dwa["n_arrays"] == 1, dwa
        assert tuple(dwa["shape"]) == CAMERA_SHAPE and dwa["dtype"] == "uint16", dwa
        assert dwa["max"] > dwa["min"], dwa  # an image, not a blank
        assert set(dwa["extra"]) >= EXTRA_ATTRIBUTES, dwa["extra"]
        extra = dwa["extra"]
        assert extra["camera"] == "Camera" and extra["bits_per_sample"] in (12, 14, 16), extra
        assert extra["exposure_ms"] > 0 and extra["binning"] >= 1, extra
        assert len(extra["roi"]) == 4 and tuple(extra["roi"][2:]) == (CAMERA_SHAPE[1], CAMERA_SHAPE[0]), extra
        assert [(a["label"], a["units"], a["size"]) for a in sorted(dwa["axes"], key=lambda a: a["index"])] == [
            ("y", "pixels", CAMERA_SHAPE[0]),
            ("x", "pixels", CAMERA_SHAPE[1]),
        ], dwa["axes"]
        indexes.append(extra["frame_index"])
    assert all(later > earlier for earlier, later in zip(indexes, indexes[1:])), indexes
    assert summary["snap_s"]["median"] < 1.0, summary["snap_s"]

    # -- moves: move_done with the read-back position, in µm, for every kind of move ----------------
    results = summary["moves"]["results"]
    expected = [("abs", t, t) for t in TARGETS] + [("rel", REL_STEP, TARGETS[-1] + REL_STEP), ("home", 0.0, 0.0)]
    assert [(r["kind"], r["requested"]) for r in results] == [(k, r) for k, r, _ in expected], results
    for result, (_kind, _requested, position) in zip(results, expected):
        assert result["move_done"] == pytest.approx(position, abs=1e-6), results
        assert result["units"] == "µm", results
    values = summary["moves"]["get_actuator_value"]
    assert values and values[-1]["value"] == pytest.approx(0.0, abs=1e-6), values

    # -- settings_client holds the agent's identity; infos its ScopeOne state -----------------------
    settings = summary["settings"]
    camera_identity = settings["viewer_settings_client"]["identity"]
    assert camera_identity["kind"] == "camera" and camera_identity["camera"] == "Camera", camera_identity
    assert camera_identity["agent_version"], camera_identity
    assert {"exposure_ms", "roi"} <= set(settings["viewer_settings_client"]), settings["viewer_settings_client"]
    axis_client = settings["move_settings_client"]
    assert axis_client["identity"]["kind"] == "axis" and axis_client["identity"]["axis"] == "Z", axis_client
    assert axis_client["units"] == "µm" and settings["move_units"] == "µm", settings
    assert settings["viewer_infos"].get("ScopeOne") == "ready", settings["viewer_infos"]
    assert settings["move_infos"].get("ScopeOne") == "ready", settings["move_infos"]
