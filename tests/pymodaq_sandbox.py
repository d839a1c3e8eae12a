"""Keep PyMoDAQ's configuration folders inside a throw-away folder during the tests.

Importing PyMoDAQ writes its system configuration to ``/etc/.pymodaq`` (hard-coded on
Linux) and its user configuration to ``~/.pymodaq``. Tests must neither depend on nor
leave such state, so before PyMoDAQ is imported we point HOME (and TMPDIR, Qt's runtime
folder) into a fresh folder and load ``pymodaq_utils.config`` with its ``/etc`` replaced.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import tempfile
from pathlib import Path
from types import CodeType
from typing import Dict, Optional, Sequence

_SYSTEM_DIR_SOURCE = "Path('/etc')"
_CONFIG_MODULE = "pymodaq_utils.config"

USER_CONFIG: Dict[str, str] = {
    # no modal pop-ups in DAQ_Scan, fast actuator polling, no environment backup at import
    "pymodaq": "[scan]\nshow_popups = false\n[actuator]\npolling_interval_ms = 10\n",
    "utils": '[backup]\nkeep_backup = false\n[user]\nname = "pytest"\n',
}


class _RedirectedConfigLoader(importlib.machinery.SourceFileLoader):
    system_dir = ""

    def get_code(self, fullname: str) -> CodeType:
        source = self.get_source(fullname) or ""
        if source.count(_SYSTEM_DIR_SOURCE) != 1:
            raise RuntimeError(
                f"{self.path} no longer hard-codes {_SYSTEM_DIR_SOURCE}: update tests/pymodaq_sandbox.py"
            )
        source = source.replace(_SYSTEM_DIR_SOURCE, f"Path({self.system_dir!r})")
        return compile(source, self.path, "exec", dont_inherit=True)


class _ConfigFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target: object = None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != _CONFIG_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin is None:
            return None
        spec.loader = _RedirectedConfigLoader(fullname, spec.origin)
        return spec


def install(root: Optional[Path] = None, data_dir: Optional[Path] = None) -> Path:
    """Redirect PyMoDAQ's folders into ``root`` (a new temporary folder by default).

    Must run before anything imports PyMoDAQ. Returns the sandbox root.
    """
    if _CONFIG_MODULE in sys.modules:
        raise RuntimeError("pymodaq_sandbox.install() must run before PyMoDAQ is imported")
    root = Path(root or tempfile.mkdtemp(prefix="scopeone-pymodaq-"))
    home = root / "home"
    for folder in (root / "etc", home, root / "tmp", root / "runtime"):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.update(HOME=str(home), TMPDIR=str(root / "tmp"), XDG_RUNTIME_DIR=str(root / "runtime"))
    tempfile.tempdir = None  # forget the temp folder computed before TMPDIR changed
    _RedirectedConfigLoader.system_dir = str(root / "etc")
    if not any(isinstance(finder, _ConfigFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _ConfigFinder())
    config_dir = home / ".pymodaq" / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    files = dict(USER_CONFIG)
    files["data"] = f'[data_saving.h5file]\nsave_path = "{data_dir or root / "data"}"\n'
    for name, text in files.items():
        (config_dir / f"{name}.toml").write_text(text, encoding="utf-8")
    return root
