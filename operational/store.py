"""The online store: departure events kept in Redis, read back as the operational features of a
flight as of its t, the same values `usecases.flights.operational.operational_features` computes
(a parity test replays a real 2013 day and compares every flight).

Key layout (all times whole minutes, `definitions.minutes`; members are unique per event):

  ops:{origin}:sched          sorted set, score scheduled departure, member "{sched}|{flight_id}":
                              the timetable, every flight, departed or not
  ops:{origin}:dep            score actual departure, member "{sched}|{delay}|{flight_id}"
  ops:{origin}:depsched       score scheduled departure, member "{actual}|{flight_id}"
  ops:{origin}:complete       the minute up to which the origin's events are all in (watermark)
  ops:tail:{tailnum}:{day}    score actual departure, member "{sched:09d}|{delay}|{flight_id}":
                              the plane's departures scheduled that day

A lookup is one command (EVALSHA of `_LOOKUP`, one round trip for every flight of a request): the
script reads the five keys of each flight in Redis and answers six integers a flight, so neither
the members nor their parsing cross the wire. A one-script lookup goes over a connection of the
store's own: redis-py's pool, retry wrapper and Script object cost about as much client CPU as the
round trip itself (`make bench-online-store` prints both paths side by side). A store that cannot
answer (down, or it has no watermark at or after t for the origin: empty, or behind) gives every
feature missing and says why; the caller counts it and the trees route the missing values.
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from operational.definitions import check_horizon, minutes

if TYPE_CHECKING:
    import redis

# The store serves flights' five operational features (`usecases.flights.operational`): its key
# layout and lookup script compute exactly those, until the store is derived from declarations.
# The serving image holds this package but no use case, so the names and windows are repeated
# here; tests/unit/operational/test_store_layout.py checks they equal the use case's.
HORIZON_MINUTES = 60
RECENT_MINUTES = 120
ORIGIN_RECENT_DEPARTURES = "origin_recent_departures"
ORIGIN_RECENT_DEP_DELAY = "origin_recent_dep_delay"
ORIGIN_BACKLOG = "origin_backlog"
TAIL_PREV_DEP_DELAY = "tail_prev_dep_delay"
TAIL_PREV_DEP_MINUTES = "tail_prev_dep_minutes"
OPERATIONAL_FEATURES = (
    ORIGIN_RECENT_DEPARTURES,
    ORIGIN_RECENT_DEP_DELAY,
    ORIGIN_BACKLOG,
    TAIL_PREV_DEP_DELAY,
    TAIL_PREV_DEP_MINUTES,
)

PREFIX = "ops"
DAY_MINUTES = 24 * 60
# How long events stay: the origin sets are trimmed behind the watermark, tail keys expire.
RETENTION_MINUTES = 2 * DAY_MINUTES
INGEST_BATCH = 5_000  # events per pipeline
# Flights per lookup script: Redis runs one script at a time, so a large request is cut into
# scripts of this size (one pipeline, still one round trip) that each answer well within the
# client's socket timeout and let other workers' lookups in between.
LOOKUP_CHUNK = 64

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
        self._lookup = client.register_script(_LOOKUP)
        self._connection: Any = None  # the lookups' own connection, made by the process using it
        self._connection_pid = 0
        self._connection_lock = threading.Lock()  # one command and its reply at a time

    @classmethod
    def from_url(cls, url: str, timeout_seconds: float = 0.05, **options: Any) -> OnlineStore:
        import redis

        client = redis.Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds, decode_responses=True
        )
        return cls(client, **options)

    # ---- ingestion ------------------------------------------------------------------------
    def ingest(self, events: pd.DataFrame, complete_until: pd.Timestamp | None = None) -> int:
        """Write departure events (`usecases.flights.operational.EVENT_COLUMNS`; `actual_dep` missing for a
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
        if not flights:
            return []
        if time.monotonic() < self._down_until:
            return [Lookup(dict(_NOTHING), STORE_DOWN) for _ in flights]
        import redis

        chunks = [flights[i : i + LOOKUP_CHUNK] for i in range(0, len(flights), LOOKUP_CHUNK)]
        try:
            # each path loads the script again when Redis answers NOSCRIPT (a restarted store)
            if len(chunks) == 1:
                replies = [self._run_lookup(*self._lookup_input(chunks[0]))]
            else:
                pipe = self.client.pipeline(transaction=False)
                for chunk in chunks:
                    self._lookup(*self._lookup_input(chunk), client=pipe)
                replies = pipe.execute()
        except redis.RedisError:
            self._down_until = time.monotonic() + self.retry_after_seconds
            return [Lookup(dict(_NOTHING), STORE_DOWN) for _ in flights]
        width = len(_LOOKUP_REPLY)
        return [
            _features_from(reply[i * width : (i + 1) * width])
            for reply in replies
            for i in range(len(reply) // width)
        ]

    def _run_lookup(self, keys: list[str], args: list[int]) -> list[int]:
        """One `_LOOKUP` on the store's own connection (`connection.send_command` and
        `read_response`: the pool's get and release and the client's retry cost more than the
        command). A connection closed since the last lookup (a restarted store) is made anew once;
        a store that lost its scripts gets the script loaded again; a timeout is not retried."""
        import redis

        reconnected = reloaded = False
        with self._connection_lock:
            while True:
                try:
                    return self._send_lookup(keys, args)
                except redis.exceptions.NoScriptError:
                    if reloaded:
                        raise
                    self.client.script_load(_LOOKUP)
                    reloaded = True
                except redis.ConnectionError:
                    if reconnected:
                        raise
                    reconnected = True  # it disconnected itself: the next send connects anew

    def _send_lookup(self, keys: list[str], args: list[int]) -> list[int]:
        if self._connection is None or self._connection_pid != os.getpid():
            # a forked worker must not share its parent's socket
            self._connection = self.client.connection_pool.make_connection()
            self._connection_pid = os.getpid()
        self._connection.send_command("EVALSHA", self._lookup.sha, len(keys), *keys, *args)
        return self._connection.read_response()

    def _lookup_input(self, flights: Sequence[tuple[str, str | None, int]]) -> tuple[list[str], list[int]]:
        """`_LOOKUP`'s keys and arguments for `flights`."""
        keys: list[str] = []
        args: list[int] = [RECENT_MINUTES]
        for origin, tailnum, own in flights:
            keys += (complete_key(origin), dep_key(origin), sched_key(origin), depsched_key(origin))
            if isinstance(tailnum, str):
                keys.append(tail_key(tailnum, own // DAY_MINUTES))
            args += (own - self.horizon_minutes, own, int(isinstance(tailnum, str)))
        return keys, args


# What the lookup script answers for each flight, in this order (integers).
_LOOKUP_REPLY = ("state", "recent_departures", "recent_delay_total", "backlog", "tail_delay", "tail_minutes")
_BEHIND, _KNOWN, _KNOWN_WITH_TAIL = 0, 1, 2  # state


def _features_from(reply: Sequence[int]) -> Lookup:
    """One flight's six integers from `_LOOKUP` -> its features (the definitions of
    `usecases.flights.operational`)."""
    state, count, total, backlog, tail_delay, tail_minutes = reply
    if state == _BEHIND:
        return Lookup(dict(_NOTHING), STORE_BEHIND)
    has_tail = state == _KNOWN_WITH_TAIL
    return Lookup(
        {
            ORIGIN_RECENT_DEPARTURES: float(count),
            ORIGIN_RECENT_DEP_DELAY: total / count if count else None,
            ORIGIN_BACKLOG: float(backlog),
            TAIL_PREV_DEP_DELAY: float(tail_delay) if has_tail else None,
            TAIL_PREV_DEP_MINUTES: float(tail_minutes) if has_tail else None,
        }
    )


# The lookup, run in Redis: for each flight (ARGV after the window: t, its own scheduled minute,
# whether a tail key follows its four origin keys), the definitions of
# `usecases.flights.operational` as of t:
#   - behind: no watermark at or after t for the origin;
#   - departures in (t - window, t] scheduled before the flight: their count and total delay
#     (members "{sched}|{delay}|{flight_id}");
#   - backlog: flights scheduled in (t - window, t] less those of them departed by t (members
#     "{actual}|{flight_id}");
#   - the plane's latest departure by t that day scheduled before the flight (members
#     "{sched:09d}|{delay}|{flight_id}", newest first): its delay and minutes from it to t.
# Every value is a whole number of minutes or a count: the reply is exact integers.
_LOOKUP = """
local window = tonumber(ARGV[1])
local reply, k = {}, 0
for f = 0, (#ARGV - 1) / 3 - 1 do
  local at, own, has_tail = tonumber(ARGV[2 + 3 * f]), tonumber(ARGV[3 + 3 * f]), ARGV[4 + 3 * f] == '1'
  local since = '(' .. (at - window)
  local complete = tonumber(redis.call('GET', KEYS[k + 1]))
  local state, count, total, backlog, tail_delay, tail_minutes = 0, 0, 0, 0, 0, 0
  if complete ~= nil and complete >= at then
    state = 1
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[k + 2], since, at)) do
      local sched, delay = string.match(member, '^(%d+)|(%-?%d+)|')
      if tonumber(sched) < own then
        count = count + 1
        total = total + tonumber(delay)
      end
    end
    backlog = redis.call('ZCOUNT', KEYS[k + 3], since, at)
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[k + 4], since, at)) do
      if tonumber(string.match(member, '^(%-?%d+)|')) <= at then backlog = backlog - 1 end
    end
    if has_tail then
      for _, member in ipairs(redis.call('ZREVRANGEBYSCORE', KEYS[k + 5], at, '-inf')) do
        local sched, delay = string.match(member, '^(%d+)|(%-?%d+)|')
        sched, delay = tonumber(sched), tonumber(delay)
        if sched < own then
          state, tail_delay, tail_minutes = 2, delay, at - (sched + delay)
          break
        end
      end
    end
  end
  for _, value in ipairs({state, count, total, backlog, tail_delay, tail_minutes}) do
    reply[#reply + 1] = value
  end
  k = k + (has_tail and 5 or 4)
end
return reply
"""


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
