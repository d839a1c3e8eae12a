"""Fixtures: a ScopeOne stand-in, the scripted PyMoDAQ side and the agent between them.

Every simulator gets its own short temp dir (AF_UNIX path) and a unique shared-memory name;
everything is stopped and removed after each test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

from pymodaq_plugins_scopeone.agent import Agent, AgentConfig
from pymodaq_plugins_scopeone.simulator import Simulator, SimulatorConfig, unique_mapping_name

from .scripted_server import ScriptedServer

FAST = dict(config_load_ms=30.0, config_unload_ms=10.0)


@pytest.fixture
def sim_config(short_tmp: Path) -> Callable[..., SimulatorConfig]:
    mapping = unique_mapping_name("s1agent")

    def make(**overrides: Any) -> SimulatorConfig:
        fields: dict = dict(socket_path=str(short_tmp / "api.sock"), mapping_name=mapping, load_demo=True)
        fields.update(FAST)
        fields.update(overrides)
        return SimulatorConfig(**fields)

    return make


@pytest.fixture
def sim(sim_config: Callable[..., SimulatorConfig]) -> Iterator[Simulator]:
    simulator = Simulator(sim_config()).start()
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    try:
        yield scripted
    finally:
        scripted.close()


@pytest.fixture
def make_agent(sim_config: Callable[..., SimulatorConfig], server: ScriptedServer) -> Iterator[Callable[..., Agent]]:
    agents: List[Agent] = []

    def make(**overrides: Any) -> Agent:
        fields: dict = dict(
            server_host="127.0.0.1",
            server_port=server.port,
            scopeone=str(sim_config().resolved_socket_path),
            cameras=("Camera",),
            axes=("X", "Y", "Z"),
            name="test-agent",
            settings_poll_s=0.2,
            reconnect_max_s=0.5,
        )
        fields.update(overrides)
        agent = Agent(AgentConfig(**fields)).start()
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.stop()
