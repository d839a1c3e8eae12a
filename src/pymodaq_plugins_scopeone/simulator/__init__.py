"""A stand-in for ScopeOne's Local API, for tests, benchmarks and demos without a microscope.

It speaks the Local API byte for byte on Linux (AF_UNIX socket ``<tmp>/ScopeOne.Api.local``,
u32-LE length + compact JSON; frames in the POSIX shared-memory block ``ScopeOne.Api.frame``
with the 64-byte ``SharedFrameHeader``) and simulates the demo configuration: a camera that
images a deterministic bead sample at the stage position, XY and Z stages with finite speed.

Quick start::

    from pymodaq_plugins_scopeone.simulator import Simulator, unique_mapping_name

    with Simulator(socket_path="/tmp/s1/api.sock", mapping_name=unique_mapping_name(), load_demo=True) as sim:
        ...  # talk to sim.socket_path; read /dev/shm/<sim.mapping_name>

Standard library + numpy only; imports nothing from the rest of the package.
"""

from ._camera import Frame
from ._checksum import read_stamp, stamp_checksum, verify_frame_checksum
from ._cli import main
from ._config import SERVER_NAME, SimulatorConfig, default_socket_path, unique_mapping_name
from ._estimate import estimate_shift, estimate_stage_xy, render_expected
from ._faults import FAULT_ACTIONS, Faults
from ._framing import MAX_MESSAGE_BYTES
from ._mmconfig import DEMO_CONFIG_NAME, DEMO_CONFIG_TEXT, write_demo_config
from ._shm import (
    DEFAULT_MAPPING_NAME,
    HEADER_BYTES,
    HEADER_FORMAT,
    MAPPING_SIZE,
    MAX_PAYLOAD_BYTES,
    FrameHeader,
)
from ._simulator import Simulator

__all__ = [
    "DEFAULT_MAPPING_NAME",
    "DEMO_CONFIG_NAME",
    "DEMO_CONFIG_TEXT",
    "FAULT_ACTIONS",
    "HEADER_BYTES",
    "HEADER_FORMAT",
    "MAPPING_SIZE",
    "MAX_MESSAGE_BYTES",
    "MAX_PAYLOAD_BYTES",
    "SERVER_NAME",
    "Faults",
    "Frame",
    "FrameHeader",
    "Simulator",
    "SimulatorConfig",
    "default_socket_path",
    "estimate_shift",
    "estimate_stage_xy",
    "main",
    "read_stamp",
    "render_expected",
    "stamp_checksum",
    "unique_mapping_name",
    "verify_frame_checksum",
    "write_demo_config",
]
