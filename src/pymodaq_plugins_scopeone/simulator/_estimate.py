"""Recover from a frame where the stage was: phase correlation against the known sample.

Phase correlation only uses the Fourier phase, so it is insensitive to brightness (exposure, bit
depth) and to symmetric blur (defocus). :func:`estimate_shift` compares two frames;
:func:`estimate_stage_xy` renders the sample at a guessed position and turns the shift of the
frame against that rendering into a stage position. Shifts must stay below half the compared
size (the correlation wraps around), so the guess must be within a quarter of the field of view
or so; accuracy is about one sample pixel.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
import numpy.typing as npt

from ._config import SimulatorConfig
from ._render import View, render_view
from ._sample import shared_sample

_MAX_SIDE = 1024


def _centre_crop(image: npt.NDArray[np.float64], size: int) -> npt.NDArray[np.float64]:
    h, w = image.shape
    y0, x0 = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return image[y0 : y0 + min(h, size), x0 : x0 + min(w, size)]


def _prepare(image: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
    data = _centre_crop(np.asarray(image, dtype=np.float64), _MAX_SIDE)
    data = data - data.mean()
    window = np.outer(np.hanning(data.shape[0]), np.hanning(data.shape[1]))
    return data * window  # type: ignore[no-any-return]


def _peak_offset(values: npt.NDArray[np.float64], index: int) -> float:
    """Sub-pixel offset of a peak at ``index`` from a parabola through its neighbours."""
    n = len(values)
    left, centre, right = values[(index - 1) % n], values[index], values[(index + 1) % n]
    denominator = left - 2 * centre + right
    if denominator >= 0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / denominator, -0.5, 0.5))


def estimate_shift(image: npt.NDArray[np.generic], reference: npt.NDArray[np.generic]) -> Tuple[float, float]:
    """Return ``(dx, dy)`` in pixels such that ``image[r, c] ≈ reference[r - dy, c - dx]``.

    That is the displacement of the content of ``image`` relative to ``reference`` (a stage move
    of +Δ µm gives ``dx = -Δ / (pixel size × binning)``). Images must have the same shape; the
    central 1024 × 1024 at most is used.
    """
    if image.shape != reference.shape or image.ndim != 2:
        raise ValueError(f"shapes differ or are not 2-D: {image.shape} vs {reference.shape}")
    a, b = _prepare(image), _prepare(reference)
    cross = np.fft.rfft2(a) * np.conj(np.fft.rfft2(b))
    # Half-whitened ("generalised") cross-power, low-passed: robust to blur and noise.
    cross /= np.sqrt(np.abs(cross)) + 1e-12
    fy = np.fft.fftfreq(a.shape[0])[:, np.newaxis]
    fx = np.fft.rfftfreq(a.shape[1])[np.newaxis, :]
    cross *= np.exp(-(fx**2 + fy**2) / (2 * 0.06**2))
    corr = np.fft.irfft2(cross, s=a.shape)
    row, col = np.unravel_index(int(np.argmax(corr)), corr.shape)
    dy = row + _peak_offset(corr[:, col], int(row))
    dx = col + _peak_offset(corr[row, :], int(col))
    h, w = corr.shape
    dy = dy - h if dy > h / 2 else dy
    dx = dx - w if dx > w / 2 else dx
    return float(dx), float(dy)


def render_expected(
    xy_um: Tuple[float, float],
    *,
    config: Optional[SimulatorConfig] = None,
    binning: int = 1,
    roi: Optional[Tuple[int, int, int, int]] = None,
    z_um: Optional[float] = None,
) -> npt.NDArray[np.float32]:
    """Return the relative intensity the camera would see at stage ``xy_um`` (µm).

    In focus unless ``z_um`` is given (then blurred as the camera does at that Z).
    """
    cfg = config or SimulatorConfig()
    blur = 0.0 if z_um is None else abs(z_um - cfg.focus_um) * cfg.defocus_blur_px_per_um
    full_roi = (0, 0, cfg.width // binning, cfg.height // binning)
    view = View.at(
        xy_um,
        pixel_size_um=cfg.pixel_size_um,
        sensor=(cfg.width, cfg.height),
        roi=roi or full_roi,
        binning=binning,
        blur_sigma_px=blur,
    )
    return render_view(shared_sample(cfg.seed, cfg.bead_density_per_px2), view)


def estimate_stage_xy(
    image: npt.NDArray[np.generic],
    hint_um: Tuple[float, float],
    *,
    config: Optional[SimulatorConfig] = None,
    binning: int = 1,
    roi: Optional[Tuple[int, int, int, int]] = None,
    z_um: Optional[float] = None,
) -> Tuple[float, float]:
    """Return the stage XY (µm) at which ``image`` was exposed, given a guess ``hint_um``.

    ``config`` must describe the simulator that produced the frame (sensor, pixel size, seed);
    ``binning`` and ``roi`` (binned pixels, the frame's ``sourceRoi*``) those of the frame.
    Passing the frame's ``z_um`` renders the guess with the same defocus, which helps when the
    frame is far out of focus. In focus the error is well under one pixel; strong defocus plus
    noise degrades it to a few pixels.
    """
    cfg = config or SimulatorConfig()
    expected = render_expected(hint_um, config=cfg, binning=binning, roi=roi, z_um=z_um)
    dx, dy = estimate_shift(image, expected)
    step = cfg.pixel_size_um * binning
    px = cfg.pixel_size_um
    x0, y0 = round(hint_um[0] / px) * px, round(hint_um[1] / px) * px  # where it was rendered
    return x0 - dx * step, y0 - dy * step
