"""Soak: live grab at full speed through the real chain, with per-frame checksums (issue 7 item 7).

stand-in process (checksum stamping on) → scopeone-agent process → a real DAQ_Viewer with
DAQ_2DViewer_ScopeOne in this process (headless Qt, PyMoDAQ's folders in a throw-away
sandbox). For ``--minutes`` the viewer grabs live as fast as the chain goes; every frame it
shows is checked:

* corrupt frames: the stand-in's CRC-32 stamp (row 0) must match the pixels and the frame
  index (:func:`verify_frame_checksum`) — must be 0;
* frame indices strictly increasing — no repeat, no going back;
* RSS of this (plugin) process, of the agent process and of the stand-in sampled every
  ``--sample-s``; after a warm-up, the median of the last fifth must be within 5 % of the
  median of the first fifth.

Prints a JSON report (``--json PATH`` also writes it) and exits 1 if a criterion failed.
Every child runs in its own process group and is killed in ``finally``; the temporary
folders are removed.

Run:  python benchmarks/soak_live.py --minutes 30   (the CI-sized check: tests/reliability/test_soak.py)
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]
RSS_TOLERANCE = 0.05


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> Optional[int]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def growth(samples: List[int], warmup: int) -> Optional[float]:
    """Median of the last fifth over the median of the first fifth (after ``warmup`` samples), minus 1."""
    usable = samples[warmup:]
    if len(usable) < 5:
        return None
    fifth = max(1, len(usable) // 5)
    first, last = statistics.median(usable[:fifth]), statistics.median(usable[-fifth:])
    return last / first - 1.0


def ends(samples: List[int], warmup: int) -> Dict[str, Optional[int]]:
    usable = samples[warmup:]
    return {"after_warmup": usable[0] if usable else None, "last": usable[-1] if usable else None}


class Child:
    def __init__(self, name: str, argv: List[str], log: Path) -> None:
        self.name = name
        self.log = log
        self._file = open(log, "ab")  # noqa: SIM115 (closed in stop)
        self.popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self._file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_for(self, text: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.log.read_text(errors="replace"):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: no {text!r}:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> Optional[int]:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        self._file.close()
        return self.popen.returncode


def soak(minutes: float, sample_s: float, folder: Path) -> Dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests import pymodaq_sandbox

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    pymodaq_sandbox.install(folder / "pymodaq")
    from pymodaq.control_modules.daq_viewer import DAQ_Viewer
    from pymodaq_gui.qt_utils import mkQApp
    from qtpy.QtWidgets import QApplication

    from pymodaq_plugins_scopeone.simulator import unique_mapping_name, verify_frame_checksum

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            QApplication.processEvents()
            time.sleep(0.002)

    app = mkQApp("scopeone-soak")  # noqa: F841 (kept alive)
    socket_path, mapping = str(folder / "api.sock"), unique_mapping_name("s1soak")
    python = [sys.executable, "-u", "-m"]
    children: List[Child] = []
    report: Dict[str, Any] = {"minutes": minutes}
    viewer: Any = None
    try:
        stand_in = Child(
            "stand-in",
            [
                *python,
                "pymodaq_plugins_scopeone.simulator",
                "--socket",
                socket_path,
                "--mapping",
                mapping,
                "--load-demo",
                "--fault-requests",
                "--log-level",
                "WARNING",
            ],
            folder / "stand-in.log",
        )
        children.append(stand_in)
        stand_in.wait_for("scopeone-sim ready")
        from tests.simulator.localapi_client import LocalApiClient

        client = LocalApiClient(socket_path, timeout=10)
        client.call("sim_fault", action="checksum", enabled=True)
        client.close()

        viewer = DAQ_Viewer(title="Camera")
        viewer.daq_type = "DAQ2D"
        viewer.detector = "ScopeOne"
        detector = viewer.settings.child("detector_settings")
        port = free_port()
        detector.child("server", "port").setValue(port)
        detector.child("server", "bind_address").setValue("127.0.0.1")
        inits: List[bool] = []
        viewer.init_signal.connect(inits.append)
        viewer.init_hardware(True)
        deadline = time.monotonic() + 30
        while not inits and time.monotonic() < deadline:
            pump(0.05)
        if inits != [True]:
            raise RuntimeError(f"the viewer did not initialise: {inits}")
        agent = Child(
            "agent",
            [
                *python,
                "pymodaq_plugins_scopeone.agent",
                "--server",
                f"127.0.0.1:{port}",
                "--scopeone",
                socket_path,
                "--camera",
                "Camera",
                "--axes",
                "",
                "--log-level",
                "WARNING",
            ],
            folder / "agent.log",
        )
        children.append(agent)
        deadline = time.monotonic() + 30
        while detector["link", "scopeone"] != "ready":
            if time.monotonic() > deadline:
                raise RuntimeError(f"agent not linked: {detector['link', 'last_error']}")
            pump(0.05)

        frames = corrupt = unstamped = repeats = backwards = 0
        last_index: Optional[int] = None
        first_bad: List[str] = []

        def on_frame(dte: Any) -> None:
            nonlocal frames, corrupt, unstamped, repeats, backwards, last_index
            dwa = dte[0]
            image, index = dwa.data[0], int(dwa.frame_index)
            frames += 1
            if not verify_frame_checksum(image, index):
                from pymodaq_plugins_scopeone.simulator import read_stamp

                if read_stamp(image) is None:
                    unstamped += 1
                else:
                    corrupt += 1
                if len(first_bad) < 5:
                    first_bad.append(f"frame {frames}: index {index}")
            if last_index is not None and index <= last_index:
                repeats += index == last_index
                backwards += index < last_index
            last_index = index

        viewer.grab_done_signal.connect(on_frame)
        plugin_rss: List[int] = []
        agent_rss: List[int] = []
        standin_rss: List[int] = []
        started = time.monotonic()
        viewer.grab_data(grab_state=True)
        next_sample = started
        end = started + minutes * 60
        while time.monotonic() < end:
            pump(min(0.2, sample_s))
            if time.monotonic() >= next_sample:
                next_sample += sample_s
                processes = ((os.getpid(), plugin_rss), (agent.popen.pid, agent_rss), (stand_in.popen.pid, standin_rss))
                for pid, samples in processes:
                    value = rss_kib(pid)
                    if value is not None:
                        samples.append(value)
            if agent.popen.poll() is not None or stand_in.popen.poll() is not None:
                raise RuntimeError("a child process died during the soak")
        elapsed = time.monotonic() - started
        viewer.stop_grab()
        pump(0.5)

        warmup = max(1, len(plugin_rss) // 10)
        report.update(
            frames=frames,
            frames_per_s=round(frames / elapsed, 1),
            corrupt_frames=corrupt,
            unstamped_frames=unstamped,
            repeated_indices=repeats,
            indices_going_back=backwards,
            first_bad=first_bad,
            dropped_live_frames=viewer.settings["detector_settings", "acquisition", "dropped"],
            rss_samples=len(plugin_rss),
            plugin_rss_kib=ends(plugin_rss, warmup),
            agent_rss_kib=ends(agent_rss, warmup),
            plugin_rss_growth=growth(plugin_rss, warmup),
            agent_rss_growth=growth(agent_rss, warmup),
            standin_rss_kib=ends(standin_rss, warmup),
            standin_rss_growth=growth(standin_rss, warmup),
            link_last_error=detector["link", "last_error"],
        )
    finally:
        if viewer is not None:
            with contextlib.suppress(Exception):
                viewer.stop_grab()
                pump(0.2)
                viewer.quit_fun()
                pump(0.2)
        codes = {child.name: child.stop() for child in reversed(children)}
        report["exit_codes"] = codes
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"/dev/shm/{mapping}")
    return report


def verdict(report: Dict[str, Any]) -> List[str]:
    """What failed (empty: the soak passed)."""
    failed = []
    if not report.get("frames"):
        failed.append("no frames")
    for key in ("corrupt_frames", "unstamped_frames", "repeated_indices", "indices_going_back"):
        if report.get(key):
            failed.append(f"{key} = {report[key]}")
    for key in ("plugin_rss_growth", "agent_rss_growth", "standin_rss_growth"):
        value = report.get(key)
        if value is None:
            failed.append(f"{key}: too few samples")
        elif value > RSS_TOLERANCE:
            failed.append(f"{key} = {value:.1%} > {RSS_TOLERANCE:.0%}")
    return failed


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--sample-s", type=float, default=5.0, help="RSS sampling period (s)")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    # A plain SIGTERM would end this process without its ``finally``: the children would outlive it.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(128 + signal.SIGTERM))
    folder = Path(tempfile.mkdtemp(prefix="s1soak-", dir="/tmp"))
    # removed at exit, after PyMoDAQ's own exit handlers (which write into its sandbox)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    report = soak(args.minutes, args.sample_s, folder)
    report["failed"] = verdict(report)
    text = json.dumps(report, indent=1, sort_keys=True)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
