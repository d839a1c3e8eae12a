"""``scopeone-sim``: run the ScopeOne stand-in until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from types import FrameType
from typing import List, Optional

from ._config import SimulatorConfig, default_socket_path
from ._shm import DEFAULT_MAPPING_NAME
from ._simulator import Simulator

STOP_CHECK_S = 0.1  # how soon a Ctrl-C or SIGTERM is acted on, in s
_log = logging.getLogger("pymodaq_plugins_scopeone.simulator")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="scopeone-sim",
        description="Stand-in for ScopeOne's Local API (AF_UNIX control socket + /dev/shm frames).",
    )
    parser.add_argument("--socket", default=None, help=f"control socket path (default {default_socket_path()})")
    parser.add_argument("--mapping", default=DEFAULT_MAPPING_NAME, help="shared-memory name (/dev/shm/<name>)")
    parser.add_argument("--width", type=int, default=512, help="sensor width in pixels (1..2048)")
    parser.add_argument("--height", type=int, default=512, help="sensor height in pixels (1..2048)")
    parser.add_argument("--pixel-size", type=float, default=1.0, help="sample-plane pixel size, µm")
    parser.add_argument("--readout-ms", type=float, default=2.0, help="readout time added to exposure, ms")
    parser.add_argument("--noise", type=float, default=0.0, help="read noise sigma, fraction of full scale")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic sample")
    parser.add_argument("--load-demo", action="store_true", help="load the demo configuration at start")
    parser.add_argument("--fault-requests", action="store_true", help="accept the sim_fault request type")
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (DEBUG logs requests)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """Turn parsed arguments into a :class:`SimulatorConfig` (ValueError if invalid)."""
    return SimulatorConfig(
        socket_path=args.socket,
        mapping_name=args.mapping,
        width=args.width,
        height=args.height,
        pixel_size_um=args.pixel_size,
        readout_ms=args.readout_ms,
        noise=args.noise,
        seed=args.seed,
        load_demo=args.load_demo,
        fault_requests=args.fault_requests,
    )


def main(argv: Optional[List[str]] = None) -> int:
    """Run until SIGINT/SIGTERM; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    # A plain flag, not a threading.Event: Event.set() from a signal handler deadlocks when the
    # signal lands while the main thread holds the Event's lock inside Event.wait().
    stop_signals: List[int] = []

    def on_signal(signum: int, frame: Optional[FrameType]) -> None:
        stop_signals.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    # The render thread and the request loop share the GIL; a short switch interval (default 5 ms)
    # keeps request latency low while frames are rendered. This process is ours to tune.
    sys.setswitchinterval(0.0005)
    simulator = Simulator(config)
    try:
        simulator.start()
        print(f"scopeone-sim ready: socket {simulator.socket_path} mapping {simulator.mapping_name}", flush=True)
        while not stop_signals:
            time.sleep(STOP_CHECK_S)
    except OSError as exc:
        _log.error("cannot start: %s", exc)
        return 1
    finally:
        simulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
