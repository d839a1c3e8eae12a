"""Size limits that bound what a peer can make us allocate."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Upper bounds checked *before* anything is allocated or read.

    The defaults leave room for a 2048×2048 uint32 frame (16 MiB) four times over,
    which also covers ScopeOne's largest export (64 MiB).

    Attributes:
        max_message_bytes: whole message, command string included.
        max_array_bytes: pixel bytes of one array.
        max_string_bytes: one string (the settings XML of ``Infos`` is the largest).
        max_list_length: elements of one list (channels, labels, axes, attributes).
        max_ndim: dimensions of one array.
        max_depth: nesting of lists and objects inside one another.
    """

    max_message_bytes: int = 80 * MIB
    max_array_bytes: int = 64 * MIB
    max_string_bytes: int = 4 * MIB
    max_list_length: int = 4096
    max_ndim: int = 16
    max_depth: int = 16

    def __post_init__(self) -> None:
        for name in (
            "max_message_bytes",
            "max_array_bytes",
            "max_string_bytes",
            "max_list_length",
            "max_ndim",
            "max_depth",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive int, got {value!r}")


DEFAULT_LIMITS = Limits()
