"""The agent against a PyMoDAQ side that requires a shared secret; choosing no camera."""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any, Callable, Iterator, Tuple

import pytest

from pymodaq_plugins_scopeone.agent import Agent
from pymodaq_plugins_scopeone.agent._cli import build_parser, config_from_args
from pymodaq_plugins_scopeone.agent._config import fields_from_toml
from pymodaq_plugins_scopeone.agent._errors import ConfigError
from pymodaq_plugins_scopeone.hardware.access import AccessPolicy
from pymodaq_plugins_scopeone.hardware.agent_server import AgentLink, AgentServer
from pymodaq_plugins_scopeone.protocol import ClientType, DataReady, SendData
from pymodaq_plugins_scopeone.simulator import Simulator

SECRET = b"the-lab-secret"


class Module:
    """A PyMoDAQ-side module that records what its agent link does."""

    def __init__(self) -> None:
        self.events: queue.Queue[Tuple[str, Any]] = queue.Queue()

    def link_connected(self, link: AgentLink) -> None:
        self.events.put(("connected", link.handshake))

    def link_message(self, link: AgentLink, message: Any) -> None:
        self.events.put(("message", message))

    def link_lost(self, link: AgentLink, reason: str) -> None:
        self.events.put(("lost", reason))

    def wait(self, kind: str, timeout_s: float = 5.0) -> Any:
        while True:
            got, value = self.events.get(timeout=timeout_s)
            if got == kind:
                return value


@pytest.fixture
def secured() -> Iterator[AgentServer]:
    server = AgentServer(0, "127.0.0.1", infos_wait_s=0.3, handshake_timeout_s=2.0, policy=AccessPolicy(secret=SECRET))
    yield server
    server.close()


def test_an_agent_with_the_secret_is_served(sim: Simulator, make_agent: Callable[..., Agent], secured) -> None:
    camera = Module()
    link = secured.attach(ClientType.GRABBER, "Camera", camera)
    make_agent(server_port=secured.port, axes=(), secret=SECRET)
    assert camera.wait("connected").identity == "Camera"
    link.send(SendData("2D"))
    while not isinstance(frame := camera.wait("message"), DataReady):
        pass
    assert frame.data.data[0].data[0].shape == (512, 512)


def test_an_agent_with_another_secret_never_gets_in(sim: Simulator, make_agent: Callable[..., Agent], secured) -> None:
    camera = Module()
    secured.attach(ClientType.GRABBER, "Camera", camera)
    make_agent(server_port=secured.port, axes=(), secret=b"not-the-lab-secret")
    with pytest.raises(queue.Empty):
        camera.wait("connected", timeout_s=2.0)


def test_camera_none_means_no_camera_and_secret_files_are_read(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_bytes(SECRET + b"\n")
    args = build_parser().parse_args(["--server", "pc", "--camera", "none", "--secret-file", str(secret_file)])
    config = config_from_args(args)
    assert config.cameras == () and config.secret == SECRET
    assert config_from_args(build_parser().parse_args(["--server", "pc"])).cameras is None  # every camera
    toml = tmp_path / "agent.toml"
    toml.write_text(f'[agent]\ncameras = []\nsecret_file = "{secret_file}"\n')
    fields = fields_from_toml(toml)
    assert fields["cameras"] == () and fields["secret"] == SECRET
    secret_file.write_bytes(b"short")
    with pytest.raises(ConfigError, match="5 bytes long; use at least 8"):
        config_from_args(build_parser().parse_args(["--server", "pc", "--secret-file", str(secret_file)]))
