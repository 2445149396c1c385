"""The Range header of RFC 9110 §14.2 (byte ranges), parsed into a plan for the response.

The outcomes: no usable Range (serve 200 whole: absent, malformed or another unit, §14.2 says
ignore it), satisfiable ranges (206), or none satisfiable (416, §15.5.17).  More than
MAX_RANGES ranges, or overlapping ones, are served whole too: the defence against the
"Apache killer" (CVE-2011-3192), which asked for thousands of overlapping ranges of one file.
"""

from __future__ import annotations

import itertools
from typing import Final

__all__ = ["MAX_RANGES", "parse_range"]

MAX_RANGES: Final = 16


def parse_range(header: bytes | None, size: int) -> list[tuple[int, int]] | None:
    """Half-open (start, end) byte ranges of a file of `size` bytes, in request order.

    None: serve the whole file (200).  An empty list: nothing satisfiable, answer 416."""
    if not header:
        return None
    unit, sep, spec = header.partition(b"=")
    if not sep or unit.strip().lower() != b"bytes":
        return None
    specs = [s.strip() for s in spec.split(b",") if s.strip()]
    if not specs or len(specs) > MAX_RANGES:
        return None
    ranges: list[tuple[int, int]] = []
    for item in specs:
        parsed = _parse_one(item)
        if parsed is None:
            return None
        first, last = parsed
        if first is None:  # suffix: the last `last` bytes; longer than the file = all of it
            assert last is not None
            if last == 0:
                continue
            ranges.append((max(size - last, 0), size))
        elif first < size:
            end = size if last is None else min(last + 1, size)
            ranges.append((first, end))
    if not ranges:
        return []
    ordered = sorted(ranges)
    if any(b[0] < a[1] for a, b in itertools.pairwise(ordered)):
        return None
    return ranges


def _parse_one(item: bytes) -> tuple[int | None, int | None] | None:
    first, sep, last = item.partition(b"-")
    first, last = first.strip(), last.strip()
    if not sep or (first and not first.isdigit()) or (last and not last.isdigit()):
        return None
    if not first:
        return (None, int(last)) if last else None
    start = int(first)
    if last and int(last) < start:
        return None
    return start, (int(last) if last else None)
