"""PyMoDAQ-side logic behind the thin plugins (Qt-free where possible)."""
