"""A mosaic of a scan's frames, placed at their stage positions, saved as a PNG.

The stand-in's stage position is the sample point at the centre of the sensor and one
pixel is ``pixel_size_um`` of sample (1 µm by default), so a frame taken at (x, y) covers
columns ``x / pixel_size_um ± width / 2`` and rows ``y / pixel_size_um ± height / 2`` of the
sample. Frames are written with Qt (a dependency already): no imaging package is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Tuple

import numpy as np

Tile = Tuple[float, float, np.ndarray]


def build_mosaic(tiles: Iterable[Tile], pixel_size_um: float = 1.0) -> np.ndarray:
    """The tiles pasted at their positions on one canvas (later tiles over earlier ones)."""
    tiles = list(tiles)
    height, width = tiles[0][2].shape
    columns = [round(x / pixel_size_um) for x, _, _ in tiles]
    rows = [round(y / pixel_size_um) for _, y, _ in tiles]
    left, top = min(columns), min(rows)
    canvas = np.zeros((max(rows) - top + height, max(columns) - left + width), dtype=tiles[0][2].dtype)
    for (_, _, frame), column, row in zip(tiles, columns, rows):
        canvas[row - top : row - top + height, column - left : column - left + width] = frame
    return canvas


def to_8bit(image: np.ndarray) -> np.ndarray:
    """Contrast-stretched to 0–255 between the 0.5th and 99.5th percentiles."""
    low, high = np.percentile(image, (0.5, 99.5))
    scaled = (image.astype(np.float64) - low) / max(float(high - low), 1.0)
    return np.ascontiguousarray(np.clip(scaled * 255.0, 0, 255).astype(np.uint8))


def save_png(image: np.ndarray, path: Path) -> Path:
    """Write a 2-D array as an 8-bit grayscale PNG (contrast-stretched)."""
    from qtpy.QtGui import QImage

    pixels = to_8bit(image)
    height, width = pixels.shape
    picture = QImage(pixels.tobytes(), width, height, width, QImage.Format_Grayscale8)
    if not picture.save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return path
