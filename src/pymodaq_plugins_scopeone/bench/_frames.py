"""The frame message exactly as the agent builds it (pixel axes, extra attributes)."""

from __future__ import annotations

import time

from ..agent._camera import frame_message
from ..agent._frames import PIXEL_FORMATS, FrameHeader
from ..protocol import DataReady
from ._results import FrameSize


def agent_frame_message(size: FrameSize, exposure_ms: float = 1.0) -> DataReady:
    """``Done`` + DataToExport for one frame of ``size``, built by the agent's own function."""
    image = size.frame()
    pixel_format = next(code for code, (_, dtype) in PIXEL_FORMATS.items() if dtype == image.dtype)
    header = FrameHeader(
        state=2,
        width=size.width,
        height=size.height,
        stride=size.width * image.dtype.itemsize,
        pixel_format=pixel_format,
        bits_per_sample=8 * image.dtype.itemsize,
        channels=1,
        frame_index=1,
        timestamp_ns=time.time_ns(),
        roi_x=0,
        roi_y=0,
        roi_width=size.width,
        roi_height=size.height,
        roi_valid=1,
    )
    return frame_message("Camera", image, header, exposure_ms, 1)
