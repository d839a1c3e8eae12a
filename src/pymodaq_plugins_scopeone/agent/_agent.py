"""The agent: one supervised ScopeOne connection and one PyMoDAQ connection per module.

Threads (all daemon, all joined by :meth:`Agent.stop`): the ScopeOne supervisor and the
Local API reader; per module a link thread (its socket) and a worker thread (its logic).
"""

from __future__ import annotations

import logging
import threading
from typing import Dict, List, Optional

from ._camera import CameraModule
from ._channel import resolve_endpoint
from ._config import AgentConfig
from ._link import PyMoDAQLink
from ._module import Module
from ._scopeone import ChannelFactory, ScopeOne, ScopeOneState
from ._stage import AxisModule

_log = logging.getLogger("pymodaq_plugins_scopeone.agent")


class Agent:
    """Runs until :meth:`stop`. Cameras not given in the config are discovered: a camera
    module starts for every camera ScopeOne reports."""

    def __init__(self, config: AgentConfig, channel_factory: Optional[ChannelFactory] = None) -> None:
        self.config = config
        kwargs = {} if channel_factory is None else {"channel_factory": channel_factory}
        self.scopeone = ScopeOne(
            resolve_endpoint(config.scopeone),
            request_timeout_s=config.request_timeout_s,
            poll_s=config.settings_poll_s,
            reconnect_max_s=config.reconnect_max_s,
            **kwargs,  # type: ignore[arg-type]
        )
        self.modules: Dict[str, Module] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def start(self) -> Agent:
        self.scopeone.start()
        cfg = self.config
        for axis in cfg.axes:
            device = cfg.z_device if axis == "Z" else cfg.xy_device
            self._add(AxisModule(axis, self.scopeone, cfg.name, device, cfg.home(axis), cfg.move_timeout_s))
        if cfg.cameras is not None:  # the cameras asked for (maybe none)
            for camera in cfg.cameras:
                self._add_camera(camera)
        else:
            self.scopeone.add_listener(self._discover)
            self._discover(self.scopeone.state)
        return self

    def _add_camera(self, camera: str) -> None:
        cfg = self.config
        self._add(CameraModule(camera, self.scopeone, cfg.name, cfg.frame_timeout_s, cfg.settings_poll_s))

    def _discover(self, state: ScopeOneState) -> None:
        for camera in state.camera_ids:
            if f"camera-{camera}" not in self.modules:
                _log.info("camera %s found in ScopeOne", camera)
                self._add_camera(camera)

    def _add(self, module: Module) -> None:
        with self._lock:
            if self._stopped or module.name in self.modules:
                return
            self.modules[module.name] = module
            cfg = self.config
            link = PyMoDAQLink(
                module,
                cfg.server_host,
                cfg.server_port,
                cfg.reconnect_max_s,
                secret=cfg.secret,
                stall_timeout_s=cfg.stall_timeout_s,
            )
            module.start(link)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Send ``Quit`` on every connection, stop every thread (idempotent)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            modules: List[Module] = list(self.modules.values())
        self.scopeone.remove_listener(self._discover)
        for module in modules:
            module.stop(timeout_s)
        self.scopeone.stop(timeout_s)
        _log.info("agent stopped")

    def __enter__(self) -> Agent:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
