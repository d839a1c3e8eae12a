"""Benchmark of the ScopeOne stand-in: ``latest_raw_frame`` latency for a 2048 × 2048 uint16 frame.

Goal: the simulator answers ``latest_raw_frame`` (export of 8 MiB into the shared block + JSON
reply) in ≤ 5 ms, so it is never the bottleneck of the bridge. The simulator runs as a separate
process (``python -m pymodaq_plugins_scopeone.simulator``), as it would beside the agent; this
script is the client. It prints figures and is not a test.

Run:  python benchmarks/bench_simulator.py [--frames 300] [--side 2048]
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import selectors
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

import numpy as np


class Client:
    """Minimal blocking Local API client (u32 LE length + JSON)."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10.0)
        self.sock.connect(path)
        self.next_id = 0

    def send(self, type_: str, **fields: Any) -> None:
        """Send a request without waiting for its answer."""
        self.next_id += 1
        payload = json.dumps({"type": type_, "requestId": self.next_id, **fields}, separators=(",", ":")).encode()
        self.sock.sendall(struct.pack("<I", len(payload)) + payload)

    def request(self, type_: str, **fields: Any) -> Dict[str, Any]:
        self.send(type_, **fields)
        while True:
            (length,) = struct.unpack("<I", self._exact(4))
            message = json.loads(self._exact(length))
            if message.get("requestId") == self.next_id:
                return message

    def _exact(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("simulator closed the connection")
            data += chunk
        return bytes(data)

    def close(self) -> None:
        self.sock.close()


def start_simulator(sock: str, mapping: str, side: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pymodaq_plugins_scopeone.simulator",
            "--socket",
            sock,
            "--mapping",
            mapping,
            "--width",
            str(side),
            "--height",
            str(side),
            "--load-demo",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(30.0):
            proc.kill()
            raise SystemExit("simulator did not start within 30 s")
    proc.stdout.readline()  # type: ignore[union-attr]
    return proc


def summary(label: str, samples_s: List[float]) -> None:
    ms = sorted(s * 1000 for s in samples_s)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    print(
        f"{label:<48} n={len(ms):4d}  min {ms[0]:6.2f}  median {statistics.median(ms):6.2f}  "
        f"p95 {p95:6.2f}  max {ms[-1]:6.2f}  (ms)"
    )


def time_requests(client: Client, count: int, read: Optional[mmap.mmap] = None) -> List[float]:
    samples = []
    for _ in range(count):
        t0 = time.perf_counter()
        response = client.request("latest_raw_frame", camera="Camera")
        if read is not None:
            nbytes = int(response["payloadBytes"])
            image = np.frombuffer(read, np.uint16, nbytes // 2, 64).copy()
            del image
        samples.append(time.perf_counter() - t0)
        assert response["ok"], response
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="requests per scenario")
    parser.add_argument("--side", type=int, default=2048, help="sensor side in pixels")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="s1bench-")
    sock, mapping = os.path.join(folder, "api.sock"), f"ScopeOne.Api.frame.bench.{os.getpid()}"
    proc = start_simulator(sock, mapping, args.side)
    client = Client(sock)
    try:
        client.request("start_preview")
        while not client.request("latest_raw_frame", camera="Camera")["ok"]:
            time.sleep(0.01)
        first = client.request("latest_raw_frame", camera="Camera")
        print(f"frame {first['width']}x{first['height']} {first['pixelFormat']}, payload {first['payloadBytes']} bytes")
        for _ in range(20):  # warm up: touch every page of the block once
            client.request("latest_raw_frame", camera="Camera")
        summary("ping round trip", [_timed(lambda: client.request("ping")) for _ in range(args.frames)])
        summary("latest_raw_frame, preview running, stage still", time_requests(client, args.frames))
        fd = os.open(f"/dev/shm/{mapping}", os.O_RDONLY)
        shared = mmap.mmap(fd, int(first["mappingSize"]), access=mmap.ACCESS_READ)
        os.close(fd)
        summary("latest_raw_frame + client copies the 8 MiB out", time_requests(client, args.frames, shared))
        shared.close()
        mover = Client(sock)
        mover.send("move_xy_relative", dx=8000, dy=0)  # 8 s of travel: every frame is rendered anew
        time.sleep(0.2)
        summary("latest_raw_frame while the stage moves", time_requests(client, min(args.frames, 100)))
        idx0 = int(client.request("latest_raw_frame", camera="Camera")["frameIndex"])
        t0 = time.perf_counter()
        time.sleep(1.0)
        idx1 = int(client.request("latest_raw_frame", camera="Camera")["frameIndex"])
        print(
            f"{'frames rendered per second while moving':<48} {(idx1 - idx0) / (time.perf_counter() - t0):.1f} "
            f"(period exposure 10 ms + readout 2 ms → at most 83)"
        )
        mover.close()
    finally:
        client.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"simulator exit code {proc.returncode}; /dev/shm entry left: {os.path.exists('/dev/shm/' + mapping)}")


def _timed(call: Any) -> float:
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
