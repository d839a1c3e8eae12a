"""``scopeone-install-experiment``: put the ScopeOne experiment into PyMoDAQ's experiments folder.

The experiment (``resources/ScopeOne.xml``) loads the camera viewer ``Camera`` (DAQ2D
ScopeOne) and the stage axes ``StageX`` (Master), ``StageY`` and ``StageZ`` (Slaves of the
same controller, ID 6341). Once installed, choose it in the dashboard's experiment menu or
run ``dashboard -x ScopeOne``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import List, Optional

EXPERIMENT = Path(__file__).parent / "resources" / "ScopeOne.xml"


def experiments_folder() -> Path:
    """The folder PyMoDAQ's dashboard lists experiments from (created if needed)."""
    from pymodaq.utils.config import get_set_experiment_path

    return Path(get_set_experiment_path())


def install(name: str = "ScopeOne", force: bool = False, folder: Optional[Path] = None) -> Path:
    """Copy the experiment as ``<folder>/<name>.xml``; FileExistsError unless ``force``."""
    target = (folder or experiments_folder()) / f"{name}.xml"
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists; use --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXPERIMENT, target)
    return target


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="scopeone-install-experiment", description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="ScopeOne", help="experiment name in the dashboard (default: ScopeOne)")
    parser.add_argument("--force", action="store_true", help="replace an experiment of that name")
    parser.add_argument("--folder", type=Path, help="install there instead of PyMoDAQ's experiments folder")
    args = parser.parse_args(argv)
    try:
        target = install(args.name, args.force, args.folder)
    except (FileExistsError, OSError) as error:
        print(f"scopeone-install-experiment: {error}", file=sys.stderr)
        return 1
    print(f"installed {target}; load it in the dashboard or run: dashboard -x {args.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
