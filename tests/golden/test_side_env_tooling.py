"""The PyMoDAQ 4.4.11 side-environment tooling works: vectors file, isolation, live round trip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

try:
    from side_env import (
        ENV_DIR_VARIABLE,
        REPO_ROOT,
        SideEnvScriptError,
        requirements_digest,
        run_in_side_env,
        side_env_dir,
    )
except ImportError:  # tests/ is a package: import the helper by its qualified name
    from tests.side_env import (
        ENV_DIR_VARIABLE,
        REPO_ROOT,
        SideEnvScriptError,
        requirements_digest,
        run_in_side_env,
        side_env_dir,
    )

GOLDEN_DIR = Path(__file__).resolve().parent
VECTORS = GOLDEN_DIR / "pymodaq44_vectors.json"
ROUNDTRIP = GOLDEN_DIR / "pymodaq44_roundtrip.py"
KINDS = {"string", "scalar", "array", "list", "axis", "dwa", "dte", "message", "legacy_list", "legacy_scalar"}
# The first test asking for the side env may build it (a few minutes on a fresh machine).
BUILD_TIMEOUT = pytest.mark.timeout(1200)


def load_cases() -> dict[str, dict[str, Any]]:
    """The golden cases, by name."""
    cases: dict[str, dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))["cases"]
    return cases


def roundtrip(side_python: Path, request: dict[str, Any]) -> dict[str, Any]:
    """Send a request to pymodaq44_roundtrip.py in the side env and return its answer."""
    result = run_in_side_env(ROUNDTRIP, input_bytes=json.dumps(request).encode(), python=side_python)
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_vectors_file_header_and_kinds() -> None:
    """The committed vectors come from PyMoDAQ 4.4.11 and use only the documented kinds."""
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert doc["generator"] == "tests/golden/generate_pymodaq44_vectors.py"
    assert doc["pymodaq"] == "4.4.11"
    assert {case["kind"] for case in doc["cases"].values()} == KINDS
    for name, case in doc["cases"].items():
        assert bytes.fromhex(case["hex"]).hex() == case["hex"], name
        assert case["spec"]["type"] in {"string", "scalar", "array", "list", "axis", "dwa", "dte", "message"}, name


def test_side_env_dir_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The env dir is keyed by the requirements' hash unless SCOPEONE_SIDE_ENV says otherwise."""
    monkeypatch.delenv(ENV_DIR_VARIABLE, raising=False)
    assert side_env_dir() == REPO_ROOT / ".cache" / f"side-env-pymodaq44-{requirements_digest()}"
    assert len(requirements_digest()) == 12
    monkeypatch.setenv(ENV_DIR_VARIABLE, str(tmp_path / "env"))
    assert side_env_dir() == tmp_path / "env"


@pytest.mark.side_env
@BUILD_TIMEOUT
def test_pymodaq44_decodes_and_encodes_every_vector(side_python: Path) -> None:
    """4.4's DeSerializer gives back each vector's spec and its Serializer each vector's hex."""
    cases = load_cases()
    request = {
        "decode": [{"kind": case["kind"], "hex": case["hex"]} for case in cases.values()],
        "encode": [case["spec"] for case in cases.values()],
    }
    answer = roundtrip(side_python, request)
    for (name, case), decoded, encoded in zip(cases.items(), answer["decoded"], answer["encoded"]):
        assert decoded == case.get("decoded_spec", case["spec"]), name
        assert encoded == case["hex"], name
    assert len(answer["decoded"]) == len(answer["encoded"]) == len(cases)


@pytest.mark.side_env
@BUILD_TIMEOUT
@pytest.mark.parametrize("tamper", ["trailing", "truncated"])
def test_roundtrip_rejects_bad_bytes(side_python: Path, tamper: str) -> None:
    """A vector with a byte too many or too few makes the round-trip script fail, naming the item."""
    case = load_cases()["dwa_actuator_1_5_mm"]
    data = case["hex"] + "00" if tamper == "trailing" else case["hex"][:-2]
    with pytest.raises(SideEnvScriptError, match=r"decode\[0\] \(kind 'dwa'\)"):
        roundtrip(side_python, {"decode": [{"kind": "dwa", "hex": data}]})


@pytest.mark.side_env
@BUILD_TIMEOUT
def test_side_scripts_run_isolated(side_python: Path, tmp_path: Path) -> None:
    """PyMoDAQ's config folders land in the per-run HOME; a failing script raises with its stderr."""
    script = tmp_path / "probe.py"
    script.write_text(
        "import json, os, sys\n"
        "import pymodaq.utils.config as config\n"
        "from pymodaq.utils.tcp_ip.serializer import Serializer\n"
        "print(json.dumps({'home': os.environ['HOME'], 'base': str(config.CONFIG_BASE_PATH),\n"
        "                  'qt': os.environ['QT_QPA_PLATFORM'], 'path': os.environ.get('PYTHONPATH'),\n"
        "                  'done': Serializer('Done').to_bytes().hex()}))\n"
        "sys.stderr.write('probe failing on purpose\\n')\n"
        "sys.exit(int(sys.argv[1]))\n"
    )
    probe = json.loads(run_in_side_env(script, "0", python=side_python).stdout)
    assert probe["base"].startswith(probe["home"])
    assert not Path(probe["home"]).exists()  # the temporary run dir is gone
    assert (probe["qt"], probe["path"], probe["done"]) == ("offscreen", None, "00000004446f6e65")
    with pytest.raises(SideEnvScriptError, match="probe failing on purpose") as failure:
        run_in_side_env(script, "3", python=side_python)
    assert failure.value.returncode == 3
