"""The plugins' access policy comes from config_scopeone.toml's [access] table."""

from __future__ import annotations

import pytest

from pymodaq_plugins_scopeone.hardware.access import AccessPolicy, parse_networks
from pymodaq_plugins_scopeone.hardware.agent_server import ServerError, release_server
from pymodaq_plugins_scopeone.hardware.plugin_config import access_policy, configured_server, package_config

from .conftest import free_port


@pytest.fixture
def access_table():
    """The [access] table of the in-memory configuration, restored afterwards."""
    config = package_config()
    saved = dict(config("access"))
    yield lambda **values: [config.__setitem__(("access", key), value) for key, value in values.items()]
    for key, value in saved.items():
        config["access", key] = value


def test_the_default_template_opens_the_port_to_anybody_without_a_secret(access_table):
    assert access_policy() == AccessPolicy()


def test_allowed_networks_cap_and_secret_file_are_read(access_table, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("a-long-lab-secret\n")
    access_table(allowed_networks="192.168.10.42, 10.0.5.0/24", max_connections_per_address=2, secret_file=str(secret))
    policy = access_policy()
    assert policy.allowed_networks == parse_networks("192.168.10.42/32, 10.0.5.0/24")
    assert policy.max_connections_per_address == 2 and policy.secret == b"a-long-lab-secret"
    server = configured_server(free_port(), "127.0.0.1")
    try:
        assert server.policy == policy
    finally:
        release_server(server)


def test_a_bad_access_setting_is_refused_naming_the_file_and_the_entry(access_table, tmp_path):
    access_table(allowed_networks="lab-network")
    with pytest.raises(ServerError, match=r"config_scopeone\.toml \[access\]: allowed networks: 'lab-network'"):
        access_policy()
    access_table(allowed_networks="", secret_file=str(tmp_path / "missing.txt"))
    with pytest.raises(ServerError, match=r"missing\.txt"):
        access_policy()
