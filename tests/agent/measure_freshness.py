"""Measure the agent's latency per snap against the stand-in (used for docs/decisions/0004).

Run: ``python -m tests.agent.measure_freshness`` from the repository root. Prints, for the
preview path and the record path and two exposures, the time from sending ``Send Data 2D``
to receiving ``Done`` (median, 90th percentile) and the Local API requests per snap.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import List

from pymodaq_plugins_scopeone.agent import Agent, AgentConfig
from pymodaq_plugins_scopeone.protocol import DataReady, SendData, SetInfo
from pymodaq_plugins_scopeone.simulator import Simulator, unique_mapping_name

from .scripted_server import ScriptedServer


def _set(peer: object, path: str, xml: str) -> None:
    peer.send(SetInfo((path,), xml))  # type: ignore[attr-defined]


def measure(preview: bool, exposure_ms: float, snaps: int = 40) -> List[float]:
    folder = Path(tempfile.mkdtemp(prefix="s1measure-", dir="/tmp"))
    try:
        with Simulator(socket_path=str(folder / "api.sock"), mapping_name=unique_mapping_name("s1m"), load_demo=True):
            server = ScriptedServer()
            agent = Agent(
                AgentConfig(
                    server_host="127.0.0.1",
                    server_port=server.port,
                    scopeone=str(folder / "api.sock"),
                    cameras=("Camera",),
                    axes=(),
                )
            ).start()
            try:
                cam = server.wait_peer("camera", "Camera")
                cam.wait_info(lambda i: i.value == "ready")
                _set(cam, "exposure_ms", f'<exposure_ms type="float" title="e">{exposure_ms}</exposure_ms>')
                _set(cam, "preview", f'<preview type="bool" title="p">{int(preview)}</preview>')
                time.sleep(0.5)
                cam.drain()
                latencies = []
                for _ in range(snaps):
                    sent = time.monotonic()
                    cam.send(SendData("2D"))
                    at, _msg = cam.expect_timed(DataReady, 10.0)
                    latencies.append(at - sent)
                    time.sleep(0.013)  # desynchronise from the frame clock
                return latencies
            finally:
                agent.stop()
                server.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    for exposure in (10.0, 50.0):
        for preview in (True, False):
            values = sorted(measure(preview, exposure))
            period = exposure + 2.0  # the stand-in's readout is 2 ms
            p90 = values[int(0.9 * len(values))]
            print(
                f"exposure {exposure:5.1f} ms (period {period:.0f} ms) {'preview' if preview else 'record '}: "
                f"median {1000 * statistics.median(values):6.1f} ms, p90 {1000 * p90:6.1f} ms, "
                f"min {1000 * values[0]:6.1f} ms, max {1000 * values[-1]:6.1f} ms"
            )


if __name__ == "__main__":
    main()
