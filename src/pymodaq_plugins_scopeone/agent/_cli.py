"""``scopeone-agent``: the command line (see ``scopeone-agent --help``)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Any, Dict, List, Optional

from .. import __version__
from ._agent import Agent
from ._config import AgentConfig, build_config, fields_from_toml, parse_axes, parse_server, read_secret
from ._errors import ConfigError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CONFIG, EXIT_STARTUP = 0, 1, 2, 3, 4
EPILOG = """\
exit codes:
  0  stopped cleanly (Ctrl-C, Ctrl-Break, SIGTERM)
  1  unexpected internal error
  2  invalid command line
  3  invalid configuration (--config file or values)
  4  could not start (e.g. the --simulate stand-in)

The agent keeps running while ScopeOne or the PyMoDAQ side are not up: it retries, and
reports ScopeOne's state to the dashboard with Info messages.
"""
STOP_CHECK_S = 0.1  # how soon a Ctrl-C or SIGTERM is acted on, in s
_log = logging.getLogger("pymodaq_plugins_scopeone.agent")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scopeone-agent",
        description="Drive ScopeOne through its Local API for PyMoDAQ's TCP/IP server plugins.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--server", metavar="HOST[:PORT]", help="the PyMoDAQ PC (default port 6341)")
    parser.add_argument(
        "--camera", metavar="ID", action="append", help="a ScopeOne camera id (repeat; default: all; 'none': no camera)"
    )
    parser.add_argument("--axes", metavar="X,Y,Z", help="stage axes to serve (default X,Y,Z; '' for none)")
    parser.add_argument(
        "--scopeone", metavar="ENDPOINT", help="Local API endpoint: 'local' (default), a socket path or pipe name"
    )
    parser.add_argument("--config", metavar="agent.toml", type=Path, help="configuration file (TOML)")
    parser.add_argument(
        "--log-level", type=str.upper, choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default INFO"
    )
    parser.add_argument(
        "--secret-file", metavar="PATH", type=Path, help="shared secret of the PyMoDAQ side, if it requires one"
    )
    parser.add_argument("--simulate", action="store_true", help="start the ScopeOne stand-in in this process (Linux)")
    parser.add_argument("--version", action="version", version=f"scopeone-agent {__version__}")
    return parser


def config_from_args(args: argparse.Namespace) -> AgentConfig:
    """Defaults < --config file < command line; ConfigError if anything is invalid."""
    fields: Dict[str, Any] = fields_from_toml(args.config) if args.config else {}
    overrides: Dict[str, Any] = {"log_level": args.log_level}
    if args.server:
        overrides["server_host"], overrides["server_port"] = parse_server(args.server)
    if args.camera:
        overrides["cameras"] = () if [c.lower() for c in args.camera] == ["none"] else tuple(args.camera)
    if args.secret_file:
        overrides["secret"] = read_secret(args.secret_file)
    if args.axes is not None:
        overrides["axes"] = parse_axes(args.axes)
    if args.scopeone:
        overrides["scopeone"] = args.scopeone
    if "server_host" not in fields and "server_host" not in overrides:
        raise ConfigError("no PyMoDAQ server given: use --server HOST[:PORT] or [agent] server in --config")
    return build_config(fields, **overrides)


def _start_simulator(stack: ExitStack) -> str:
    from ..simulator import Simulator, unique_mapping_name  # lazy: only for --simulate

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scopeone-agent-sim-")))
    simulator = Simulator(socket_path=str(folder / "api.sock"), mapping_name=unique_mapping_name(), load_demo=True)
    stack.enter_context(simulator)
    return str(simulator.socket_path)


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as error:
        print(f"scopeone-agent: {error}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(level=config.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # A plain flag, not a threading.Event: Event.set() from a signal handler deadlocks when the
    # signal lands while the main thread holds the Event's lock inside Event.wait().
    stop_signals: List[int] = []

    def on_signal(signum: int, frame: Optional[FrameType]) -> None:
        stop_signals.append(signum)

    signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGBREAK] if hasattr(signal, "SIGBREAK") else [])
    previous = {sig: signal.signal(sig, on_signal) for sig in signals}
    try:
        with ExitStack() as stack:
            if args.simulate:
                try:
                    endpoint = _start_simulator(stack)
                except (OSError, RuntimeError, ValueError) as error:
                    print(f"scopeone-agent: cannot start the simulator: {error}", file=sys.stderr)
                    return EXIT_STARTUP
                config = build_config({**config.__dict__, "scopeone": endpoint})
            agent = Agent(config).start()
            stack.callback(agent.stop)
            _log.info("scopeone-agent %s serving %s:%d", __version__, config.server_host, config.server_port)
            while not stop_signals:
                time.sleep(STOP_CHECK_S)
        return EXIT_OK
    except ConfigError as error:
        print(f"scopeone-agent: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except Exception:
        _log.exception("scopeone-agent failed")
        return EXIT_ERROR
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
