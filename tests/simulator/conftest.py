"""Fixtures: each simulator gets its own short temp dir (AF_UNIX paths ≤ 107 bytes) and a
shared-memory name unique to this process and test, so tests run in parallel and leave nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

from pymodaq_plugins_scopeone.simulator import Simulator, SimulatorConfig, unique_mapping_name

from .localapi_client import LocalApiClient

FAST = dict(config_load_ms=30.0, config_unload_ms=10.0)


@pytest.fixture
def make_config(short_tmp: Path) -> Callable[..., SimulatorConfig]:
    def make(**overrides: Any) -> SimulatorConfig:
        fields: dict = dict(socket_path=str(short_tmp / "api.sock"), mapping_name=unique_mapping_name("s1test"))
        fields.update(FAST)
        fields.update(overrides)
        return SimulatorConfig(**fields)

    return make


@pytest.fixture
def make_sim(make_config: Callable[..., SimulatorConfig]) -> Iterator[Callable[..., Simulator]]:
    started: List[Simulator] = []

    def make(**overrides: Any) -> Simulator:
        sim = Simulator(make_config(**overrides)).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator]) -> Simulator:
    """A running simulator with nothing loaded."""
    return make_sim()


@pytest.fixture
def demo_sim(make_sim: Callable[..., Simulator]) -> Simulator:
    """A running simulator with the demo configuration loaded."""
    return make_sim(load_demo=True)


@pytest.fixture
def connect() -> Iterator[Callable[..., LocalApiClient]]:
    clients: List[LocalApiClient] = []

    def open_client(sim: Simulator, **kwargs: Any) -> LocalApiClient:
        client = LocalApiClient(str(sim.socket_path), **kwargs)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture
def client(sim: Simulator, connect: Callable[..., LocalApiClient]) -> LocalApiClient:
    return connect(sim)


@pytest.fixture
def demo(demo_sim: Simulator, connect: Callable[..., LocalApiClient]) -> LocalApiClient:
    """A client of a simulator with the demo configuration loaded."""
    return connect(demo_sim)
