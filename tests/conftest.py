"""Shared pytest fixtures; PyMoDAQ is sandboxed before any test imports it."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

try:
    import pymodaq_sandbox
except ImportError:  # tests/ is a package
    from tests import pymodaq_sandbox

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
PYMODAQ_SANDBOX = pymodaq_sandbox.install()
# Registered before PyMoDAQ is imported, so it runs after PyMoDAQ's own exit handlers
# (which save configuration files into the sandbox).
atexit.register(shutil.rmtree, PYMODAQ_SANDBOX, ignore_errors=True)

try:
    from side_env import REQUIRE_VARIABLE, ensure_side_python, side_env_unavailable_reason
except ImportError:  # tests/ is a package: import the helper by its qualified name
    from tests.side_env import REQUIRE_VARIABLE, ensure_side_python, side_env_unavailable_reason


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short private folder under /tmp (AF_UNIX paths are limited to 108 bytes), removed after."""
    path = Path(tempfile.mkdtemp(prefix="s1test-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def side_python() -> Path:
    """Python of the PyMoDAQ 4.4.11 side environment, built on first use (see tests/side_env.py).

    Skips the test when the environment cannot be built, or fails if SCOPEONE_REQUIRE_SIDE_ENV=1.
    """
    python = ensure_side_python()
    if python is None:
        reason = f"PyMoDAQ 4.4.11 side environment unavailable: {side_env_unavailable_reason()}"
        if os.environ.get(REQUIRE_VARIABLE) == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return python
