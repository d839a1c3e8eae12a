"""``python -m pymodaq_plugins_scopeone.simulator``: serves, logs requests, cleans up on signals."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys

import pytest

from pymodaq_plugins_scopeone.simulator import unique_mapping_name

from .localapi_client import LocalApiClient, frames_until, read_frame


def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pymodaq_plugins_scopeone.simulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(proc: subprocess.Popen, timeout: float = 20.0) -> str:
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            proc.kill()
            pytest.fail(f"simulator not ready within {timeout} s: {proc.communicate()}")
    return proc.stdout.readline()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_then_cleans_up_on_signal(short_tmp, sig):
    sock, mapping = short_tmp / "cli.sock", unique_mapping_name("s1test")
    proc = start_cli(
        "--socket",
        str(sock),
        "--mapping",
        mapping,
        "--width",
        "256",
        "--height",
        "128",
        "--pixel-size",
        "0.5",
        "--load-demo",
        "--log-level",
        "debug",
    )
    try:
        line = wait_ready(proc)
        assert line.strip() == f"scopeone-sim ready: socket {sock} mapping {mapping}"
        with LocalApiClient(str(sock)) as client:
            assert client.call("camera_ids")["cameraIds"] == ["Camera"]
            client.call("start_preview")
            _, image = read_frame(frames_until(client, "Camera", lambda r: True))
            assert image.shape == (128, 256)
        assert sock.exists() and os.path.exists(f"/dev/shm/{mapping}")
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert not sock.exists()
    assert not os.path.exists(f"/dev/shm/{mapping}")
    assert "-> camera_ids" in stderr and "<- start_preview ok=True" in stderr


def test_cli_rejects_a_sensor_too_large(short_tmp):
    proc = start_cli("--socket", str(short_tmp / "x.sock"), "--width", "4096")
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "width must be an int in 1..2048" in stderr
    assert not (short_tmp / "x.sock").exists()


def test_cli_start_failure_exits_1_and_leaves_no_shared_memory(short_tmp):
    (short_tmp / "taken").write_text("not a socket")
    mapping = unique_mapping_name("s1test")
    proc = start_cli("--socket", str(short_tmp / "taken"), "--mapping", mapping)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "is not a socket" in stderr
    assert not os.path.exists(f"/dev/shm/{mapping}")


def test_cli_help_lists_the_options():
    out = subprocess.run(
        [sys.executable, "-m", "pymodaq_plugins_scopeone.simulator", "--help"],
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout
    for option in ("--socket", "--mapping", "--width", "--height", "--pixel-size", "--load-demo", "--log-level"):
        assert option in out


def test_interpreter_exit_without_stop_still_cleans_up(short_tmp):
    sock, mapping = short_tmp / "exit.sock", unique_mapping_name("s1test")
    code = (
        "from pymodaq_plugins_scopeone.simulator import Simulator\n"
        f"sim = Simulator(socket_path={str(sock)!r}, mapping_name={mapping!r}, load_demo=True).start()\n"
        "import os; print(os.path.exists(sim.socket_path), os.path.exists('/dev/shm/' + sim.mapping_name))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]
    assert not sock.exists() and not os.path.exists(f"/dev/shm/{mapping}")
