"""Configuration: the TOML subset parser (Python 3.8-3.10), agent.toml, and the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pymodaq_plugins_scopeone.agent import _toml
from pymodaq_plugins_scopeone.agent._cli import EXIT_CONFIG, build_parser, config_from_args, main
from pymodaq_plugins_scopeone.agent._config import AgentConfig, fields_from_toml, parse_axes, parse_server
from pymodaq_plugins_scopeone.agent._errors import ConfigError

SAMPLE = """\
# agent configuration
[agent]
server = "192.168.1.20:6342"   # PyMoDAQ PC
cameras = ["Camera", 'Camera2']
axes = ["x", "Z"]
scopeone = 'C:\\Temp\\odd "name"'
log_level = "DEBUG"
name = "scope \\"one\\""

[stage]
home_x_um = 12.5
home_z_um = -3
move_timeout_s = 1_0

[camera]
frame_timeout_s = 2.5e0
settings_poll_s = 0.25
"""


@pytest.mark.skipif(sys.version_info < (3, 11), reason="compares with tomllib")
def test_subset_parser_agrees_with_tomllib() -> None:
    import tomllib

    assert _toml.loads_subset(SAMPLE) == tomllib.loads(SAMPLE)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[agent]\nserver = {a = 1}", "line 2: unsupported value"),
        ('x = """multi"""', "line 1"),
        ("a.b = 1", "bare key"),
        ("x = [1,\n 2]", "line 1: unterminated array"),
        ("[agent]\n[agent]", "defined twice"),
        ('x = "a\\q"', "unsupported escape"),
    ],
)
def test_subset_parser_refuses_what_it_does_not_read(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _toml.loads_subset(text)


def test_agent_toml_fields(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(SAMPLE, encoding="utf-8")
    config = AgentConfig(**fields_from_toml(path))
    assert (config.server_host, config.server_port) == ("192.168.1.20", 6342)
    assert config.cameras == ("Camera", "Camera2")
    assert config.axes == ("X", "Z")
    assert config.home("X") == 12.5 and config.home("Y") == 0.0 and config.home("Z") == -3.0
    assert config.move_timeout_s == 10.0
    assert (config.frame_timeout_s, config.settings_poll_s) == (2.5, 0.25)
    assert config.name == 'scope "one"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[agent]\nservr = 'x'", "unknown key"),
        ("[camra]\nx = 1", "unknown table"),
        ("[agent]\ncameras = 'Camera'", "expected list"),
        ("[stage]\nmove_timeout_s = true", "expected int/float"),
        ("[camera]\nsettings_poll_s = 2.0", "<= 1 s"),
        ("[agent]\naxes = ['W']", "axes: expected some of X, Y, Z, got 'W'"),
        ("[agent]\nserver = 'host:99999'", "port must be an integer in 1..65535"),
    ],
)
def test_agent_toml_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        AgentConfig(**fields_from_toml(path))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("pc", ("pc", 6341)), ("pc:7000", ("pc", 7000)), ("[::1]:7000", ("::1", 7000)), ("::1", ("::1", 6341))],
)
def test_parse_server(text: str, expected: tuple) -> None:
    assert parse_server(text) == expected


def test_parse_axes() -> None:
    assert parse_axes("x, Y,z") == ("X", "Y", "Z")
    assert parse_axes("") == ()


def test_command_line_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(SAMPLE, encoding="utf-8")
    args = build_parser().parse_args(["--config", str(path), "--server", "pc", "--axes", "Y", "--camera", "C1"])
    config = config_from_args(args)
    assert (config.server_host, config.server_port, config.axes, config.cameras) == ("pc", 6341, ("Y",), ("C1",))
    assert config.home("X") == 12.5


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main([]) == EXIT_CONFIG
    assert "no PyMoDAQ server given" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[agent]\nserver = 1\n", encoding="utf-8")
    assert main(["--config", str(bad)]) == EXIT_CONFIG
    assert "agent.server: expected str, got int 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as excinfo:
        main(["--help"])
    assert excinfo.value.code == 0
    help_text = capsys.readouterr().out
    for line in ("0  stopped cleanly", "2  invalid command line", "3  invalid configuration", "4  could not start"):
        assert line in help_text
    with pytest.raises(SystemExit) as excinfo:
        main(["--version"])
    assert "scopeone-agent 0.1.0" in capsys.readouterr().out
