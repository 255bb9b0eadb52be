"""The offline columns of declared online features (`point_in_time`), point-in-time from the
events, with the rules of `operational.declarations`.

Events are sorted by a composite key, group * SPAN + minute (the group: the entity, and its day
for a `same_day` feature); a row's window of events is found with two `searchsorted` calls and
gathered in padded chunks (`windows`), so no Python loop runs per row. Within a window events run
in the store's member order (time, then `before_own`, then the key), and sums add in that order,
so the store's values are the same doubles.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from operational.declarations import COUNT, LAST, MAX, MEAN, MIN, SUM, OnlineFeature
from operational.definitions import DAY_MINUTES, check_horizon, minutes

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


# ---- the offline columns of declared online features -------------------------------------------
_DAY_GROUPS = np.int64(100_000)  # entity * this + day number (days since 1970 stay below it)


def point_in_time(
    features: Sequence[OnlineFeature],
    events: pd.DataFrame,
    rows: pd.DataFrame,
    own_time: str,
    horizon_minutes: int,
    event_key: str,
) -> pd.DataFrame:
    """One row per row of `rows` (same index): each declared feature as of the row's
    t = `rows[own_time]` - `horizon_minutes`, from `events` (`operational.declarations`: the
    rules). `rows` carries each feature's entity column; `event_key` names the events' key (the
    last tie-break of "last"). Nothing after t is read."""
    check_horizon(horizon_minutes)
    own = minutes(rows[own_time])
    at = own - horizon_minutes
    out = pd.DataFrame(np.nan, index=rows.index, columns=[f.name for f in features])
    selections: dict[tuple, list[OnlineFeature]] = {}
    for feature in features:
        selections.setdefault(_selection(feature), []).append(feature)
    for selection, members in selections.items():
        for name, values in _aggregate(selection, members, events, rows, own, at, event_key).items():
            out[name] = values
    return out


def _selection(feature: OnlineFeature) -> tuple:
    """What decides which events a feature reads (features that share it share one pass)."""
    return (
        feature.entity,
        feature.time,
        feature.window_minutes,
        feature.before_own,
        feature.same_day,
        feature.until,
    )


def _aggregate(selection, features, events, rows, own, at, event_key) -> dict[str, np.ndarray]:
    entity, time, window, before_own, same_day, until = selection
    codes = pd.factorize(pd.concat([events[entity], rows[entity]], ignore_index=True))[0]
    event_entity, row_entity = codes[: len(events)], codes[len(events) :]
    when = minutes(events[time])
    order = minutes(events[before_own]) if before_own else np.zeros(len(events))
    usable = ~np.isnan(when) & (event_entity >= 0) & ~np.isnan(order)
    group = event_entity.astype(np.int64)
    row_group = row_entity.astype(np.int64)
    if same_day:
        day = minutes(events[same_day])
        usable &= ~np.isnan(day)
        group = group * _DAY_GROUPS + (np.nan_to_num(day) // DAY_MINUTES).astype(np.int64)
        row_group = row_group * _DAY_GROUPS + (np.nan_to_num(own) // DAY_MINUTES).astype(np.int64)
    # ties in time go by `before_own`, then by the key: the order of the store's members
    rank = pd.factorize(events[event_key].astype(str), sort=True)[0][usable]
    tie = np.empty(len(rank), dtype=np.int64)
    tie[np.lexsort((rank, order[usable]))] = np.arange(len(rank))  # each event's place by (order, key)
    keys, index_order = sorted_keys(group[usable], when[usable], then=tie)
    picked = np.flatnonzero(usable)[index_order]
    their_when, their_order = when[picked], order[picked]
    their_until = minutes(events[until])[picked] if until else None
    values = {f.value: events[f.value].to_numpy(np.float64)[picked] for f in features if f.value}

    known = ~np.isnan(own) & (row_entity >= 0)
    safe_at = np.where(known, at, 0).astype(np.int64)
    base = np.where(known, row_group, 0) * SPAN
    lo = (
        np.searchsorted(keys, base + safe_at - window, side="right")
        if window
        else np.searchsorted(keys, base, side="left")
    )
    hi = np.where(known, np.searchsorted(keys, base + safe_at, side="right"), lo)

    n = len(own)
    out = {f.name: np.full(n, np.nan) for f in features}
    for f in features:
        if f.aggregation in (COUNT, SUM):
            out[f.name][known] = 0.0
    for chunk, index, valid in windows(lo, hi):
        chosen = valid
        if before_own:
            chosen = chosen & (their_order[index] < own[chunk, None])
        if their_until is not None:
            chosen = chosen & ~(their_until[index] <= at[chunk, None])  # missing: still open
        for f in features:
            _one(f, out[f.name], chunk, index, chosen, values.get(f.value or ""), their_when, at)
    return out


def _one(feature, out, chunk, index, chosen, value, their_when, at) -> None:
    """`feature` over each chunk row's chosen events (`index`, in the store's order)."""
    if value is not None:
        chosen = chosen & ~np.isnan(value[index])
    found = chosen.any(axis=1)
    kind = feature.aggregation
    if kind == COUNT:
        out[chunk] = chosen.sum(axis=1)
    elif kind in (SUM, MEAN):
        # summed one after another in the store's order, as the store adds them
        total = np.cumsum(np.where(chosen, value[index], 0.0), axis=1)[:, -1]
        if kind == SUM:
            out[chunk] = total
        else:
            count = chosen.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[chunk] = np.where(found, total / np.maximum(count, 1), np.nan)
    elif kind in (MAX, MIN):
        fill = -np.inf if kind == MAX else np.inf
        cells = np.where(chosen, value[index], fill)
        best = cells.max(axis=1) if kind == MAX else cells.min(axis=1)
        out[chunk] = np.where(found, best, np.nan)
    else:  # LAST, TIME_SINCE_LAST: the latest chosen event, the last True of its row
        last = chosen.shape[1] - 1 - np.argmax(chosen[:, ::-1], axis=1)
        picked = index[np.arange(len(chunk)), last]
        latest = value[picked] if kind == LAST else at[chunk] - their_when[picked]
        out[chunk] = np.where(found, latest, np.nan)
