"""Live cross-check with the real PyMoDAQ 4.4.11: decode and encode on request.

Runs in the side environment (``tests/side_env.py: run_in_side_env``). Reads one JSON request on
stdin and writes one JSON answer on stdout::

    request: {"decode": [{"kind": "<kind>", "hex": "<bytes>"}, ...], "encode": [<spec>, ...]}
    answer:  {"decoded": [<spec of what 4.4's DeSerializer read>, ...],
              "encoded": ["<hex of Serializer(obj).to_bytes() for each spec>", ...]}

Kinds and specs are those of the golden vectors (see pymodaq44_specs.py). A ``message`` is read as
4.4's TCPServer/TCPClient read it: the command string, then the payload that command carries (a
2.x-4.0 list/scalar payload is recognised when the DataToExport/DataActuator class name is absent).
Bytes left over, too few bytes or anything 4.4 rejects make the script exit non-zero, naming the item.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

_ANSWER: TextIO = sys.stdout
sys.stdout = sys.stderr  # whatever PyMoDAQ prints must not corrupt the JSON answer

import pymodaq44_specs as specs  # noqa: E402  (isolates PyMoDAQ before importing it)


def decode_item(index: int, item: dict[str, Any]) -> specs.Spec:
    """Spec of what 4.4 decodes from one request item."""
    try:
        return specs.normalized(specs.decode(item["kind"], bytes.fromhex(item["hex"])))
    except Exception as exc:
        raise RuntimeError(f"decode[{index}] (kind {item.get('kind')!r}) failed: {type(exc).__name__}: {exc}") from exc


def encode_item(index: int, spec: specs.Spec) -> str:
    """Hex of what 4.4 serializes for one spec."""
    try:
        return specs.encode_spec(spec).hex()
    except Exception as exc:
        raise RuntimeError(f"encode[{index}] (type {spec.get('type')!r}) failed: {type(exc).__name__}: {exc}") from exc


def main() -> None:
    """Answer one request read on stdin."""
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    answer = {
        "decoded": [decode_item(i, item) for i, item in enumerate(request.get("decode", []))],
        "encoded": [encode_item(i, spec) for i, spec in enumerate(request.get("encode", []))],
    }
    _ANSWER.write(json.dumps(answer, sort_keys=True, allow_nan=False) + "\n")
    _ANSWER.flush()


if __name__ == "__main__":
    main()
