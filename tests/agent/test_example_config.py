"""The example agent.toml shipped in resources/ stays valid for the agent."""

from __future__ import annotations

from pathlib import Path

from pymodaq_plugins_scopeone.agent._config import AgentConfig, fields_from_toml

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "agent.example.toml"


def test_the_shipped_example_configuration_is_read_as_documented():
    config = AgentConfig(**fields_from_toml(EXAMPLE))
    assert (config.server_host, config.server_port) == ("192.168.10.20", 6341)
    assert config.axes == ("X", "Y", "Z") and config.cameras is None and config.secret is None
    assert config.move_timeout_s == 60.0 and config.settings_poll_s == 0.5
