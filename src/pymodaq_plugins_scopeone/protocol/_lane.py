"""Frame messages laid out as the last one: recognised whole, then read by that one's layouts.

A camera sends frame message after frame message with the same headers but for a few values
(decision 0008). Once the fast path has read a ``Done`` frame message from head to tail,
the decoder keeps its two layouts as a :class:`KnownFrame`. The next message whose fixed
bytes are the same is read by them straight away: no command to parse and look up, no
payload kind to tell, no run to try and match. That halves a frame's fixed cost, hot
(decision 0008 gives the figures).

Like the fast path it only ever accepts. The head is compared before anything is consumed,
so a message that differs goes to the general parser whole; a tail that differs goes to the
fast path's tail or the general parser, which read it as they would have.
"""

from __future__ import annotations

from typing import Optional, Tuple

from ._cursor import Layout
from ._encode import encoded_str
from ._reader import Need, Parser, Reader

DONE = encoded_str("Done")


class KnownFrame:
    """The head and tail layouts of a ``Done`` frame message, and the head's fixed bytes from the message start.

    Its layouts were noted under the reader's limits, at depth 0 (``Layout`` keeps both), so a
    message that matches them is within those limits as the one they were read from.
    """

    __slots__ = ("head", "head_length", "head_parts", "limits", "tail")

    def __init__(self, head: Layout, tail: Layout) -> None:
        self.head, self.tail, self.limits = head, tail, head.limits
        self.head_parts = ((0, DONE), *((len(DONE) + at, part) for at, part in head.constant))
        self.head_length = len(DONE) + head.length


def known_frame(r: Reader) -> Optional[KnownFrame]:
    """The layouts of the frame message just read, when the fast path read both its head and its tail."""
    if len(r.layouts_read) != 2 or r.depth:
        return None
    head, tail = r.layouts_read
    return KnownFrame(head, tail)


def wait_for_run(r: Reader, parts: Tuple[Tuple[int, bytes], ...], length: int) -> Parser[bool]:
    """True once the ``length`` bytes at ``r``'s position are buffered and hold ``parts``
    (``(position, bytes)`` pairs); False as soon as the buffered ones differ. Consumes nothing.

    It waits only while the bytes buffered agree with ``parts``: they are then the start of an
    unfinished run, for which the general parser would wait too.
    """
    while True:
        buffer, start = r.buffer, r.offset
        end = min(len(buffer), start + length)
        for at, part in parts:
            if start + at + len(part) <= end:
                if not buffer.startswith(part, start + at):
                    return False
            elif start + at < end and not part.startswith(buffer[start + at : end]):
                return False
        if end == start + length:
            return True
        yield Need(end - start + 1, length)
