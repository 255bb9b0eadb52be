"""Point-in-time gathers over sorted event times: the vectorized pieces a use case's offline
operational features are computed with (for example `usecases.flights.operational`).

Events are sorted by a composite key, group * SPAN + minute; a row's window of events is found
with two `searchsorted` calls and gathered in padded chunks (`windows`), so no Python loop runs
per row.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

# Composite sort keys: group * SPAN + minute, with minutes since 1970 below 2**27 (year 2225).
SPAN = np.int64(2**27)
_CELLS_PER_CHUNK = 2_000_000  # gathered window cells held at once


def sorted_keys(
    group: np.ndarray, minute: np.ndarray, then: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The composite keys group * SPAN + minute, sorted (ties by `then` when given), and the
    order that sorts them."""
    keys = group.astype(np.int64) * SPAN + minute.astype(np.int64)
    order = np.argsort(keys, kind="stable") if then is None else np.lexsort((then, keys))
    return keys[order], order


def windows(lo: np.ndarray, hi: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Row chunks with each row's [lo, hi) as a padded matrix of positions and a validity mask."""
    width = int((hi - lo).max(initial=0))
    if width == 0:
        return
    step = max(1, _CELLS_PER_CHUNK // width)
    offsets = np.arange(width)
    for start in range(0, len(lo), step):
        rows = np.arange(start, min(start + step, len(lo)))
        index = lo[rows, None] + offsets
        valid = offsets < (hi - lo)[rows, None]
        yield rows, np.where(valid, index, 0), valid
