"""The PyMoDAQ 4.4.11 side environment used by the tests (golden vectors, live cross-checks).

PyMoDAQ 4.4 is the last PyMoDAQ that speaks the classic TCP/IP protocol in the layout our codec
implements, but it cannot live in the main environment (it needs numpy < 2, pyqtgraph 0.13 and
clashes with PyMoDAQ 5). This module builds a separate virtual environment from
``resources/side-env/pymodaq44-requirements.txt`` and runs scripts in it, isolated from the
machine: fresh HOME/TMPDIR/XDG dirs, offscreen Qt, no user site, nothing from our PYTHONPATH, and
PyMoDAQ's system-wide config folder (``/etc/.pymodaq`` on Linux) redirected into the fresh HOME.

Standard library only: the scripts running in the side environment import it too (by file path),
to isolate PyMoDAQ when they are started by hand.

Environment variables:

* ``SCOPEONE_SIDE_ENV``: directory of the side environment (default
  ``<repo>/.cache/side-env-pymodaq44-<12 hex of the requirements' sha256>``). An existing
  directory given here that has a Python is used as it is.
* ``SCOPEONE_REQUIRE_SIDE_ENV=1``: read by the ``side_python`` fixture (tests/conftest.py): fail
  instead of skipping when the environment cannot be built.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.abc
import importlib.machinery
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO_ROOT / "resources" / "side-env" / "pymodaq44-requirements.txt"
ENV_DIR_VARIABLE = "SCOPEONE_SIDE_ENV"
REQUIRE_VARIABLE = "SCOPEONE_REQUIRE_SIDE_ENV"
MARKER_NAME = "scopeone-side-env-complete"
ISOLATED_VARIABLE = "SCOPEONE_SIDE_ISOLATED"
PYTHON_VERSION = (3, 11)

_last_failure: str | None = None


class SideEnvUnavailable(RuntimeError):
    """The side environment cannot be built or found; the message is the reason."""


class SideEnvScriptError(RuntimeError):
    """A script run in the side environment failed (non-zero exit or timeout)."""

    def __init__(self, message: str, stderr: bytes = b"", returncode: int | None = None) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.returncode = returncode


# --------------------------------------------------------------------------- locations


def requirements_digest() -> str:
    """First 12 hex digits of the sha256 of the requirements file."""
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]


def side_env_dir() -> Path:
    """Directory of the side environment (``$SCOPEONE_SIDE_ENV`` or the default in ``.cache``)."""
    override = os.environ.get(ENV_DIR_VARIABLE)
    if override:
        return Path(override).expanduser().resolve()
    return REPO_ROOT / ".cache" / f"side-env-pymodaq44-{requirements_digest()}"


def venv_python(env_dir: Path) -> Path:
    """Path of the Python interpreter inside the virtual environment ``env_dir``."""
    if sys.platform == "win32":
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


def side_env_unavailable_reason() -> str | None:
    """Why the last :func:`ensure_side_python` call returned None (None if it did not)."""
    return _last_failure


# --------------------------------------------------------------------------- building


def ensure_side_python(timeout_s: float = 900) -> Path | None:
    """Return the side environment's Python, building the environment first if needed.

    Returns None when it cannot be built (offline, no Python 3.11, pip failure, timeout); the
    reason is then given by :func:`side_env_unavailable_reason`.
    """
    global _last_failure
    try:
        python = _ensure(side_env_dir(), timeout_s)
    except SideEnvUnavailable as exc:
        _last_failure = str(exc)
        return None
    _last_failure = None
    return python


def _ensure(env_dir: Path, timeout_s: float) -> Path:
    """Find or build the environment in ``env_dir``; raise SideEnvUnavailable otherwise."""
    ready = _ready_python(env_dir)
    if ready is not None:
        return ready
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(env_dir):
        ready = _ready_python(env_dir)  # another process may have built it meanwhile
        if ready is not None:
            return ready
        _build(env_dir, timeout_s)
    return venv_python(env_dir)


def _ready_python(env_dir: Path) -> Path | None:
    """The Python of a usable environment in ``env_dir``, or None if one must be built."""
    python = venv_python(env_dir)
    if (env_dir / MARKER_NAME).is_file() and python.exists():
        return python
    if not env_dir.exists():
        return None
    if os.environ.get(ENV_DIR_VARIABLE):
        if python.exists():
            return python  # an environment the user provided: trust it
        raise SideEnvUnavailable(f"{ENV_DIR_VARIABLE}={env_dir} exists but has no {python}")
    return None


@contextlib.contextmanager
def _build_lock(env_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock next to ``env_dir`` so that concurrent test runs build once."""
    lock_path = env_dir.parent / f"{env_dir.name}.lock"
    with open(lock_path, "w") as lock_file:
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def _build(env_dir: Path, timeout_s: float) -> None:
    """Build the environment into a temporary sibling, mark it complete, rename it into place."""
    _remove_leftovers(env_dir)
    deadline = time.monotonic() + timeout_s
    staging = Path(tempfile.mkdtemp(prefix=f"{env_dir.name}.tmp-", dir=env_dir.parent))
    staging.chmod(0o755)
    try:
        base = _base_python()
        _run_build_step([base, "-m", "venv", str(staging)], deadline, "python -m venv")
        pip_install = [
            str(venv_python(staging)),
            "-m",
            "pip",
            "install",
            "--no-input",
            "--disable-pip-version-check",
            "--timeout",
            "60",
            "--retries",
            "2",
            "-r",
            str(REQUIREMENTS),
        ]
        _run_build_step(pip_install, deadline, "pip install")
        _relocate_scripts(staging, env_dir)
        (staging / MARKER_NAME).write_text(f"{requirements_digest()}\n")
        if env_dir.exists():
            shutil.rmtree(env_dir)
        os.replace(staging, env_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _relocate_scripts(staging: Path, env_dir: Path) -> None:
    """Point the scripts of ``bin/`` (shebangs, activate) at the final directory before the rename."""
    old, new = str(staging).encode(), str(env_dir).encode()
    for script in venv_python(staging).parent.iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        content = script.read_bytes()
        if old in content and (content.startswith(b"#!") or script.name.startswith("activate")):
            script.write_bytes(content.replace(old, new))


def _remove_leftovers(env_dir: Path) -> None:
    """Remove half-built staging directories of earlier interrupted builds (we hold the lock)."""
    for leftover in env_dir.parent.glob(f"{env_dir.name}.tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _base_python() -> str:
    """A Python 3.11 interpreter to create the virtual environment with."""
    if sys.version_info[:2] == PYTHON_VERSION:
        return sys.executable
    name = "python{}.{}".format(*PYTHON_VERSION)
    found = shutil.which(name)
    if found is None:
        raise SideEnvUnavailable(f"no {name} found to build the PyMoDAQ 4.4 side environment")
    return found


def _run_build_step(cmd: Sequence[str], deadline: float, what: str) -> None:
    """Run one build command within the remaining time; raise SideEnvUnavailable on failure."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SideEnvUnavailable(f"side environment build timed out before {what}")
    env = _clean_environ()
    try:
        code, _, stderr = _run(cmd, env=env, timeout_s=remaining)
    except subprocess.TimeoutExpired as exc:
        raise SideEnvUnavailable(f"{what} timed out while building the side environment") from exc
    if code != 0:
        tail = stderr.decode(errors="replace")[-3000:]
        raise SideEnvUnavailable(f"{what} failed (exit {code}) building the side environment:\n{tail}")


def _clean_environ() -> dict[str, str]:
    """Our environment without what would leak the main venv into a child Python."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PIP_REQUIRE_VIRTUALENV"):
        env.pop(name, None)
    return env


# --------------------------------------------------------------------------- running


def _run(
    cmd: Sequence[str], env: dict[str, str], timeout_s: float, input_bytes: bytes | None = None, cwd: Path | None = None
) -> tuple[int, bytes, bytes]:
    """Run ``cmd`` in its own process group; on timeout kill that group and re-raise."""
    with subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=sys.platform != "win32",
    ) as proc:
        try:
            stdout, stderr = proc.communicate(input_bytes, timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            exc.stdout, exc.stderr = proc.communicate()
            raise
    return proc.returncode, stdout, stderr


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process group that ``proc`` leads (it was started in a new session)."""
    if sys.platform == "win32":
        proc.kill()
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def isolated_environ(root: Path, python: Path) -> dict[str, str]:
    """A from-scratch environment for a side-env process whose private dirs live in ``root``."""
    dirs = {
        name: root / sub
        for name, sub in (
            ("HOME", "home"),
            ("TMPDIR", "tmp"),
            ("XDG_RUNTIME_DIR", "run"),
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_CACHE_HOME", "cache"),
            ("XDG_DATA_HOME", "data"),
        )
    }
    for path in dirs.values():
        path.mkdir(mode=0o700, exist_ok=True)
    env = {name: str(path) for name, path in dirs.items()}
    env.update(
        PATH=os.pathsep.join([str(python.parent), os.environ.get("PATH", os.defpath)]),
        VIRTUAL_ENV=str(python.parent.parent),
        QT_QPA_PLATFORM="offscreen",
        PYTHONNOUSERSITE="1",
        PYTHONIOENCODING="utf-8",
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        USER=os.environ.get("USER", "scopeone"),
        **{ISOLATED_VARIABLE: "1"},
    )
    if sys.platform == "win32":
        env["SYSTEMROOT"] = os.environ.get("SYSTEMROOT", "")
    return env


# Runs the script as __main__ after redirecting PyMoDAQ's system config dir (see isolate_pymodaq).
_BOOTSTRAP = """\
import importlib.util, os, runpy, sys
spec = importlib.util.spec_from_file_location("scopeone_side_env", {side_env!r})
side_env = importlib.util.module_from_spec(spec)
sys.modules["scopeone_side_env"] = side_env
spec.loader.exec_module(side_env)
side_env.isolate_pymodaq(home=None)
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0]))
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_in_side_env(
    script: Path,
    *args: str | Path,
    input_bytes: bytes | None = None,
    timeout_s: float = 120,
    python: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``script`` with the side Python in an isolated environment; return its result.

    ``python`` defaults to :func:`ensure_side_python` (SideEnvUnavailable if it cannot be built).
    The process gets fresh HOME, TMPDIR and XDG dirs inside a temporary directory (removed
    afterwards; also its working directory), ``QT_QPA_PLATFORM=offscreen``, no user site and no
    PYTHONPATH. Raises SideEnvScriptError, with the script's stderr, on non-zero exit or timeout.
    """
    if python is None:
        python = ensure_side_python()
        if python is None:
            raise SideEnvUnavailable(side_env_unavailable_reason() or "side environment unavailable")
    bootstrap = _BOOTSTRAP.format(side_env=str(Path(__file__).resolve()))
    cmd = [str(python), "-s", "-c", bootstrap, str(Path(script).resolve()), *map(str, args)]
    with tempfile.TemporaryDirectory(prefix="scopeone-side-run-") as tmp:
        root = Path(tmp)
        env = isolated_environ(root, python)
        try:
            code, stdout, stderr = _run(cmd, env=env, timeout_s=timeout_s, input_bytes=input_bytes, cwd=root)
        except subprocess.TimeoutExpired as exc:
            err = exc.stderr if isinstance(exc.stderr, bytes) else b""
            raise SideEnvScriptError(
                f"{script} timed out after {timeout_s} s in the side env:\n{err.decode(errors='replace')[-5000:]}", err
            ) from exc
    if code != 0:
        raise SideEnvScriptError(
            f"{script} {' '.join(map(str, args))} exited with {code} in the side env:\n"
            f"{stderr.decode(errors='replace')[-5000:]}",
            stderr,
            code,
        )
    return subprocess.CompletedProcess(cmd, code, stdout, stderr)


# --------------------------------------------------------------------------- in the side env


class _PymodaqConfigRedirect(importlib.abc.MetaPathFinder):
    """Make ``pymodaq.utils.config`` put its system-wide folder under HOME instead of /etc."""

    TARGET = "pymodaq.utils.config"

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """Wrap the real loader of the target module; ignore every other module."""
        if fullname != self.TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        real_exec = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            real_exec(module)
            base = Path.home() / "system-config"
            base.mkdir(exist_ok=True)
            module.CONFIG_BASE_PATH = base  # type: ignore[attr-defined]

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def pymodaq_isolated() -> bool:
    """Whether :func:`isolate_pymodaq` is in effect in this process."""
    return any(isinstance(finder, _PymodaqConfigRedirect) for finder in sys.meta_path)


def isolate_pymodaq(home: Path | None = None) -> None:
    """Keep ``import pymodaq`` (4.4) from writing outside a private HOME; call before importing it.

    PyMoDAQ 4.4 writes ``~/.pymodaq`` and a system-wide ``/etc/.pymodaq`` (as root) on import.
    With ``home=None``, a fresh temporary HOME is made unless this process already runs isolated
    (started by :func:`run_in_side_env`). Idempotent.
    """
    if pymodaq_isolated():
        return
    if "pymodaq" in sys.modules:
        raise RuntimeError("isolate_pymodaq() must be called before pymodaq is imported")
    if home is None and os.environ.get(ISOLATED_VARIABLE) != "1":
        home = Path(tempfile.mkdtemp(prefix="scopeone-side-home-"))
        atexit.register(shutil.rmtree, home, ignore_errors=True)
    if home is not None:
        os.environ["HOME"] = str(home)
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.meta_path.insert(0, _PymodaqConfigRedirect())


def main() -> int:
    """Build (if needed) the side environment and print its Python: ``python -m tests.side_env``."""
    python = ensure_side_python()
    if python is None:
        print(f"side environment unavailable: {side_env_unavailable_reason()}", file=sys.stderr)
        return 1
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
