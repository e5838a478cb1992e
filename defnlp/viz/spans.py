"""Turn overlapping character spans into properly nested HTML elements.

HTML elements nest; entity spans may overlap (``ministre des Armées`` inside a longer ROLE,
or two crossing spans). :func:`nest_marks` keeps every mark: a mark that crosses another is
cut into fragments at the crossing point, and each fragment knows whether it is the first or
the last piece of its mark. Nested marks stay whole (the longer one outside).

Offsets are Python string indices (code points), so slicing here is exact for emoji and any
other character outside the Basic Multilingual Plane.

>>> marks = [Mark(0, 9, "a"), Mark(4, 14, "b")]          # crossing spans: "b" is cut at 9
>>> [(op, m.key, f.start, f.end) for op, m, f in nest_marks(14, marks) if op != "text"]
[('open', 'a', 0, 9), ('open', 'b', 4, 9), ('close', 'b', 4, 9), ('close', 'a', 0, 9), ('open', 'b', 9, 14), ('close', 'b', 9, 14)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Fragment", "Mark", "nest_marks"]


@dataclass(frozen=True)
class Mark:
    """A span to wrap in an element. Among equal spans, a lower ``rank`` goes outside."""

    start: int
    end: int
    key: Hashable
    rank: int = 0
    data: Any = None


@dataclass
class Fragment:
    """A piece of a mark between two split points; ``end`` is set when the piece is closed."""

    mark: Mark
    start: int
    end: int = -1

    @property
    def first(self) -> bool:
        return self.start == self.mark.start

    @property
    def last(self) -> bool:
        return self.end == self.mark.end


def nest_marks(text_length: int, marks: Sequence[Mark]) -> list[tuple[str, Any, Fragment | None]]:
    """Operations that render ``marks`` over a text as nested elements.

    Returns the steps in document order: ``("open", mark, fragment)``, ``("close", mark,
    fragment)`` and ``("text", (start, end), None)``. A fragment's ``end`` is known once the
    list is built, so a renderer can tell the last piece of a cut mark when it opens it.
    Empty or out-of-range marks raise ``ValueError`` (records are validated before this).
    """
    order = {id(m): i for i, m in enumerate(marks)}
    starting: dict[int, list[Mark]] = defaultdict(list)
    boundaries = {0, text_length}
    for m in marks:
        if not 0 <= m.start < m.end <= text_length:
            raise ValueError(f"mark ({m.start}, {m.end}) is empty or outside a text of length {text_length}")
        starting[m.start].append(m)
        boundaries.add(m.start)
        boundaries.add(m.end)

    def outer_first(m: Mark) -> tuple[int, int, int]:
        return (-m.end, m.rank, order[id(m)])

    ops: list[tuple[str, Any, Fragment | None]] = []
    stack: list[Fragment] = []
    position = 0
    for point in sorted(boundaries):
        if point > position:
            ops.append(("text", (position, point), None))
            position = point
        # close every mark ending here; marks opened above it that go on are re-opened
        lowest = next((k for k, frag in enumerate(stack) if frag.mark.end == point), None)
        reopen: list[Mark] = []
        if lowest is not None:
            for frag in reversed(stack[lowest:]):
                frag.end = point
                ops.append(("close", frag.mark, frag))
                if frag.mark.end > point:
                    reopen.append(frag.mark)
            del stack[lowest:]
        for mark in sorted(reopen + starting.get(point, []), key=outer_first):
            frag = Fragment(mark, point)
            ops.append(("open", mark, frag))
            stack.append(frag)
    return ops


def fragments_by_key(ops: list[tuple[str, Any, Fragment | None]]) -> Iterator[tuple[Hashable, Fragment]]:
    """The fragments of each mark, in document order (for tests and debugging)."""
    for op, mark, frag in ops:
        if op == "open" and frag is not None:
            yield mark.key, frag
