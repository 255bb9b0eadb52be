"""The online store: departure events kept in Redis, read back as the operational features of a
flight as of its t, the same values `offline.operational_features` computes (a parity test
replays a real 2013 day and compares every flight).

Key layout (all times whole minutes, `definitions.minutes`; members are unique per event):

  ops:{origin}:sched          sorted set, score scheduled departure, member "{sched}|{flight_id}":
                              the timetable, every flight, departed or not
  ops:{origin}:dep            score actual departure, member "{sched}|{delay}|{flight_id}"
  ops:{origin}:depsched       score scheduled departure, member "{actual}|{flight_id}"
  ops:{origin}:complete       the minute up to which the origin's events are all in (watermark)
  ops:tail:{tailnum}:{day}    score actual departure, member "{sched:09d}|{delay}|{flight_id}":
                              the plane's departures scheduled that day

One lookup is one round trip (a pipeline of five reads). A store that cannot answer (down, or it
has no watermark at or after t for the origin: empty, or behind) gives every feature missing and
says why; the caller counts it and the trees route the missing values.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from operational.definitions import (
    HORIZON_MINUTES,
    OPERATIONAL_FEATURES,
    ORIGIN_BACKLOG,
    ORIGIN_RECENT_DEP_DELAY,
    ORIGIN_RECENT_DEPARTURES,
    RECENT_MINUTES,
    TAIL_PREV_DEP_DELAY,
    TAIL_PREV_DEP_MINUTES,
    check_horizon,
    minutes,
)

if TYPE_CHECKING:
    import redis

PREFIX = "ops"
DAY_MINUTES = 24 * 60
# How long events stay: the origin sets are trimmed behind the watermark, tail keys expire.
RETENTION_MINUTES = 2 * DAY_MINUTES
INGEST_BATCH = 5_000  # events per pipeline

# Why a lookup gave no features (the metric's label and the response's reason).
STORE_DOWN = "store_unavailable"
STORE_BEHIND = "store_behind"  # no watermark at or after t: empty, or the feed has not reached t


def sched_key(origin: str) -> str:
    return f"{PREFIX}:{origin}:sched"


def dep_key(origin: str) -> str:
    return f"{PREFIX}:{origin}:dep"


def depsched_key(origin: str) -> str:
    return f"{PREFIX}:{origin}:depsched"


def complete_key(origin: str) -> str:
    return f"{PREFIX}:{origin}:complete"


def tail_key(tailnum: str, day: int) -> str:
    return f"{PREFIX}:tail:{tailnum}:{day}"


@dataclass(frozen=True)
class Lookup:
    """The operational features of one flight (None where missing) and, when the store could
    not tell, why (`STORE_DOWN`, `STORE_BEHIND`)."""

    values: dict[str, float | None]
    unavailable: str | None = None

    @property
    def missing(self) -> list[str]:
        return [name for name in OPERATIONAL_FEATURES if self.values[name] is None]


_NOTHING = dict.fromkeys(OPERATIONAL_FEATURES)


class OnlineStore:
    """Departure events in, operational features out, over one Redis client."""

    def __init__(
        self,
        client: redis.Redis,
        horizon_minutes: int = HORIZON_MINUTES,
        retention_minutes: int = RETENTION_MINUTES,
        retry_after_seconds: float = 0.5,
    ):
        check_horizon(horizon_minutes)
        self.client = client
        self.horizon_minutes = horizon_minutes
        self.retention_minutes = retention_minutes
        # A store that just failed is not asked again before this: a request must not wait
        # on a connect timeout per row while it is down.
        self.retry_after_seconds = retry_after_seconds
        self._down_until = 0.0

    @classmethod
    def from_url(cls, url: str, timeout_seconds: float = 0.05, **options: Any) -> OnlineStore:
        import redis

        client = redis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds, decode_responses=True
        )
        return cls(client, **options)

    # ---- ingestion ------------------------------------------------------------------------
    def ingest(self, events: pd.DataFrame, complete_until: pd.Timestamp | None = None) -> int:
        """Write departure events (`definitions.EVENT_COLUMNS`; `actual_dep` missing for a
        timetable entry or a cancelled flight). Idempotent: an event written twice is one event.
        Each origin's watermark moves to `complete_until` (default: its newest event time).
        Returns the number of events written."""
        sched = minutes(events["sched_dep"])
        actual = minutes(events["actual_dep"])
        keep = ~np.isnan(sched)
        frame = pd.DataFrame(
            {
                "flight_id": events["flight_id"].to_numpy()[keep],
                "origin": events["origin"].to_numpy()[keep],
                "tailnum": events["tailnum"].to_numpy()[keep],
                "sched": sched[keep].astype(np.int64),
                "actual": actual[keep],
            }
        )
        watermark = None if complete_until is None else int(minutes(pd.Series([complete_until]))[0])
        for start in range(0, len(frame), INGEST_BATCH):
            self._ingest_batch(frame.iloc[start : start + INGEST_BATCH], watermark)
        return len(frame)

    def _ingest_batch(self, batch: pd.DataFrame, watermark: int | None) -> None:
        sets: dict[str, dict[str, int]] = defaultdict(dict)
        newest: dict[str, int] = {}
        for flight_id, origin, tailnum, sched, actual in batch.itertuples(index=False, name=None):
            sets[sched_key(origin)][f"{sched}|{flight_id}"] = sched
            if actual != actual:  # not departed (NaN is not equal to itself): the timetable only
                continue
            actual = int(actual)
            delay = actual - sched
            sets[dep_key(origin)][f"{sched}|{delay}|{flight_id}"] = actual
            sets[depsched_key(origin)][f"{actual}|{flight_id}"] = sched
            if isinstance(tailnum, str):
                sets[tail_key(tailnum, sched // DAY_MINUTES)][f"{sched:09d}|{delay}|{flight_id}"] = actual
            # the feed has reached its newest departure (a timetable entry tells nothing of that)
            newest[origin] = max(newest.get(origin, actual), actual)
        pipe = self.client.pipeline(transaction=False)
        for key, members in sets.items():
            pipe.zadd(key, members)
            if key.startswith(f"{PREFIX}:tail:"):
                pipe.expire(key, self.retention_minutes * 60)
        for origin in {key.split(":")[1] for key in sets if not key.startswith(f"{PREFIX}:tail:")}:
            mark = watermark if watermark is not None else newest.get(origin)
            keys = (complete_key(origin), sched_key(origin), dep_key(origin), depsched_key(origin))
            pipe.eval(
                _WATERMARK_AND_TRIM, len(keys), *keys, "" if mark is None else mark, self.retention_minutes
            )
        pipe.execute()

    # ---- lookup ---------------------------------------------------------------------------
    def features(self, origin: str, tailnum: str | None, sched_dep_minute: int) -> Lookup:
        """The operational features of a flight from `origin` scheduled at `sched_dep_minute`
        (whole minutes, `definitions.minutes`), as of its t."""
        return self.features_many([(origin, tailnum, sched_dep_minute)])[0]

    def features_many(self, flights: Sequence[tuple[str, str | None, int]]) -> list[Lookup]:
        """`features` for several flights in one round trip."""
        if time.monotonic() < self._down_until:
            return [Lookup(dict(_NOTHING), STORE_DOWN) for _ in flights]
        import redis

        pipe = self.client.pipeline(transaction=False)
        for origin, tailnum, own in flights:
            at = own - self.horizon_minutes
            since = f"({at - RECENT_MINUTES}"
            pipe.get(complete_key(origin))
            pipe.zrangebyscore(dep_key(origin), since, at)
            pipe.zcount(sched_key(origin), since, at)
            pipe.zrangebyscore(depsched_key(origin), since, at)
            if isinstance(tailnum, str):
                pipe.zrevrangebyscore(tail_key(tailnum, own // DAY_MINUTES), at, "-inf")
        try:
            replies = pipe.execute()
        except redis.RedisError:
            self._down_until = time.monotonic() + self.retry_after_seconds
            return [Lookup(dict(_NOTHING), STORE_DOWN) for _ in flights]
        answers, position = [], 0
        for _, tailnum, own in flights:
            width = 5 if isinstance(tailnum, str) else 4
            answers.append(_features_from(replies[position : position + width], own, self.horizon_minutes))
            position += width
        return answers


def _features_from(replies: list, own: int, horizon_minutes: int) -> Lookup:
    """The five reads of one flight -> its features (the definitions of `offline`)."""
    complete, departed, scheduled, departed_by_sched = replies[:4]
    at = own - horizon_minutes
    if complete is None or int(complete) < at:
        return Lookup(dict(_NOTHING), STORE_BEHIND)
    count, total = 0, 0
    for member in departed:
        sched, delay, _ = member.split("|", 2)
        if int(sched) < own:
            count += 1
            total += int(delay)
    gone = sum(1 for member in departed_by_sched if int(member.split("|", 1)[0]) <= at)
    values: dict[str, float | None] = {
        ORIGIN_RECENT_DEPARTURES: float(count),
        ORIGIN_RECENT_DEP_DELAY: total / count if count else None,
        ORIGIN_BACKLOG: float(scheduled - gone),
        TAIL_PREV_DEP_DELAY: None,
        TAIL_PREV_DEP_MINUTES: None,
    }
    for member in replies[4] if len(replies) > 4 else ():  # latest departure first
        sched, delay, _ = member.split("|", 2)
        if int(sched) < own:
            sched_minute, delay_minutes = int(sched), int(delay)
            values[TAIL_PREV_DEP_DELAY] = float(delay_minutes)
            values[TAIL_PREV_DEP_MINUTES] = float(at - (sched_minute + delay_minutes))
            break
    return Lookup(values)


# The watermark only moves forward (a late batch of old events does not pull it back), and the
# origin's sets keep `retention` minutes behind it.
_WATERMARK_AND_TRIM = """
local current = tonumber(redis.call('GET', KEYS[1]))
local proposed = tonumber(ARGV[1])
if proposed ~= nil and (current == nil or proposed > current) then
  redis.call('SET', KEYS[1], proposed)
  current = proposed
end
if current ~= nil then
  local oldest = '(' .. (current - tonumber(ARGV[2]))
  for i = 2, #KEYS do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', oldest) end
end
return 0
"""


def events_of(rows: Iterable[dict]) -> pd.DataFrame:
    """Departure events from an operations feed's records (flight_id, origin, tailnum,
    sched_dep, actual_dep as ISO times; actual_dep null until departed)."""
    frame = pd.DataFrame(list(rows), columns=["flight_id", "origin", "tailnum", "sched_dep", "actual_dep"])
    frame["sched_dep"] = pd.to_datetime(frame["sched_dep"])
    frame["actual_dep"] = pd.to_datetime(frame["actual_dep"])
    return frame
