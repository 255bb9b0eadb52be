"""The online store: a use case's events kept in Redis, read back as its declared online features
as of each row's t, the same values `operational.offline.point_in_time` computes from the same
declarations (a parity test replays a real day of every use case and compares every row).

Everything here is derived from the declarations (`operational.declarations`) by `Layout`, once
per bundle: no use case writes Redis code. Key layout (times are whole minutes,
`definitions.minutes`):

  {prefix}:{set}:{entity value}[:{day}]   a sorted set per "event set": the events of one entity
                                          value (of one day, for a `same_day` feature), score the
                                          declared `time`, member "{before_own:011d}\\x1f{key}
                                          \\x1f{field}..." (the fields: the values and `until` times
                                          its features read; empty where missing)
  {prefix}:{layout}:watermark[:{value}]   the minute up to which the partition's events are all in

Features that read the same entity, time, day scope and ordering share a set; features that also
share the window and filters share one pass over it. Members sort by score, then by the ordering
time, then by the event's key: the order "last" means, offline too.

A lookup is one command (EVALSHA of the layout's script, one round trip for every row of a
request): for each row the script checks the partition's watermark, reads the row's sets in
Redis and answers one string per feature, so neither the members nor their parsing cross the wire.
The script's body is one generic program (`_LOOKUP_BODY`); the layout only prepends its plan, a Lua
table made from the declarations. A one-script lookup goes over a connection of the store's own:
redis-py's pool, retry wrapper and Script object cost about as much client CPU as the round trip
itself. A store that cannot answer (down, or no watermark at or after t for the row's partition:
empty, or behind) gives every feature missing and says why; the caller counts it and the trees
route the missing values.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from operational.declarations import (
    AGGREGATIONS,
    LAST,
    TIME_SINCE_LAST,
    DeclarationError,
    EventStream,
    OnlineFeature,
    check_features,
)
from operational.definitions import DAY_MINUTES, check_horizon, minutes

if TYPE_CHECKING:
    import redis

PREFIX = "ops"
# How long events stay behind their partition's watermark (at least; twice the longest window
# when that is longer): the partition's sets are trimmed behind it, the other keys expire.
RETENTION_MINUTES = 2 * DAY_MINUTES
INGEST_BATCH = 5_000  # events per pipeline
# Rows per lookup script: Redis runs one script at a time, so a large request is cut into scripts
# of this size (one pipeline, still one round trip) that each answer well within the client's
# socket timeout and let other workers' lookups in between.
LOOKUP_CHUNK = 64
MAX_FIELDS = 3  # value and `until` columns one event set's members carry (the lookup's locals)
SEPARATOR = "\x1f"  # between a member's fields: below every printable character, so that
# members compare as their ordering time, then their key, as offline sorts them

# Why a lookup gave no features (the metric's label and the response's reason).
STORE_DOWN = "store_unavailable"
STORE_BEHIND = "store_behind"  # no watermark at or after t: empty, or the feed has not reached t


@dataclass(frozen=True)
class Lookup:
    """The online features of one row (None where missing) and, when the store could not tell,
    why (`STORE_DOWN`, `STORE_BEHIND`)."""

    values: dict[str, float | None]
    unavailable: str | None = None

    @property
    def missing(self) -> list[str]:
        return [name for name, value in self.values.items() if value is None]


@dataclass(frozen=True)
class _Set:
    """Events of one entity kept under one key per value (per value and day with `same_day`)."""

    name: str
    entity: str
    time: str
    before_own: str | None
    same_day: str | None
    fields: tuple[str, ...]  # value and `until` columns, in member order


@dataclass(frozen=True)
class _Read:
    """One pass over a row's set: the window and filters, and the features it computes."""

    set: _Set
    window: int | None
    until: str | None
    features: tuple[OnlineFeature, ...]


def _digest(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:10]


class Layout:
    """The store's keys, ingestion and lookup plan for one use case's declarations, made once
    (per bundle, per feed). `entities`: the order a lookup's rows give their entity values in
    (default: the declarations' order)."""

    def __init__(
        self,
        features: Sequence[OnlineFeature],
        stream: EventStream,
        horizon_minutes: int,
        entities: Sequence[str] | None = None,
        prefix: str = PREFIX,
    ):
        check_horizon(horizon_minutes)
        check_features(features, stream)
        self.features = tuple(features)
        self.names = tuple(f.name for f in features)
        self.stream = stream
        self.horizon_minutes = horizon_minutes
        self.prefix = prefix
        declared = tuple(dict.fromkeys(f.entity for f in features))
        self.entities = tuple(entities) if entities is not None else declared
        unknown = sorted(set(declared) - set(self.entities))
        if unknown:
            raise ValueError(
                f"the rows give no value for the entities {unknown} the online features are keyed by"
            )
        windows = [f.window_minutes for f in features if f.window_minutes]
        self.retention_minutes = max(RETENTION_MINUTES, 2 * max(windows, default=0))
        self.sets, self.reads = self._plan()
        # The watermark is the layout's own: a server whose declarations differ from the feed's
        # (its sets are other keys) finds none and says `store_behind`, counted, never a silent 0.
        self._stream_id = _digest(stream.key, stream.watermark, stream.partition, [s.name for s in self.sets])
        self.lookup_script = _lookup_script(self.reads, self.names)
        # what a lookup's input is made of, resolved once
        position = {name: i for i, name in enumerate(self.entities)}
        self._partition_at = position[stream.partition] if stream.partition else None
        self._watermark_head = f"{prefix}:{self._stream_id}:watermark"
        self._reads_at = [
            (f"{prefix}:{r.set.name}:", position[r.set.entity], r.set.same_day is not None)
            for r in self.reads
        ]
        self.lookup_sha = hashlib.sha1(self.lookup_script.encode()).hexdigest()

    def _plan(self) -> tuple[tuple[_Set, ...], tuple[_Read, ...]]:
        stored: dict[tuple, list[OnlineFeature]] = defaultdict(list)
        for f in self.features:
            stored[(f.entity, f.time, f.same_day, f.before_own)].append(f)
        sets = {}
        for (entity, when, same_day, before_own), members in stored.items():
            fields = tuple(dict.fromkeys(c for f in members for c in (f.value, f.until) if c is not None))
            if len(fields) > MAX_FIELDS:
                raise DeclarationError(
                    f"online features {[f.name for f in members]} read {len(fields)} value and until "
                    f"columns {list(fields)} of the same events: the store keeps at most {MAX_FIELDS}"
                )
            name = _digest(self.stream.key, entity, when, same_day, before_own, fields)
            sets[(entity, when, same_day, before_own)] = _Set(
                name, entity, when, before_own, same_day, fields
            )
        passes: dict[tuple, list[OnlineFeature]] = defaultdict(list)
        for f in self.features:
            passes[(f.entity, f.time, f.same_day, f.before_own, f.window_minutes, f.until)].append(f)
        reads = tuple(_Read(sets[key[:4]], key[4], key[5], tuple(members)) for key, members in passes.items())
        return tuple(sets.values()), reads

    # ---- keys ---------------------------------------------------------------------------
    def key(self, event_set: _Set, value: str, day: int | None = None) -> str:
        base = f"{self.prefix}:{event_set.name}:{value}"
        return base if day is None else f"{base}:{day}"

    def watermark_key(self, partition_value: str | None = None) -> str:
        base = self._watermark_head
        return base if self.stream.partition is None else f"{base}:{partition_value}"

    @property
    def columns(self) -> tuple[str, ...]:
        """The event columns ingestion reads."""
        named = [self.stream.key, self.stream.watermark]
        named += [self.stream.partition] if self.stream.partition else []
        return tuple(dict.fromkeys(named + [c for f in self.features for c in f.columns]))

    # ---- a lookup's input and its decode --------------------------------------------------------
    def lookup_input(self, rows: Sequence[tuple]) -> tuple[list[str], list[Any]]:
        """The script's keys and arguments for rows of (*entity values in `entities` order, own
        minute)."""
        partition, reads, horizon = self._partition_at, self._reads_at, self.horizon_minutes
        mark = self._watermark_head
        keys: list[str] = []
        args: list[Any] = [len(rows)]
        for row in rows:
            own = int(row[-1])
            keys.append(mark if partition is None else f"{mark}:{row[partition]}")
            present = ""
            for key_head, at, same_day in reads:
                value = row[at]
                if isinstance(value, str):
                    keys.append(f"{key_head}{value}:{own // DAY_MINUTES}" if same_day else key_head + value)
                    present += "1"
                else:
                    present += "0"
            args += (own - horizon, own, present)
        return keys, args

    def decode(self, reply: Sequence) -> list[Lookup]:
        """The script's reply (per row: 1 and one string per feature, empty where missing; or 0,
        behind) -> one `Lookup` a row."""
        out = []
        i, names = 0, self.names
        while i < len(reply):
            if reply[i] in (0, b"0", "0"):
                out.append(Lookup(dict.fromkeys(names), STORE_BEHIND))
                i += 1
                continue
            values = reply[i + 1 : i + 1 + len(names)]
            out.append(Lookup({n: float(v) if v else None for n, v in zip(names, values, strict=True)}))
            i += 1 + len(names)
        return out

    # ---- ingestion ------------------------------------------------------------------------
    def members(self, events: pd.DataFrame) -> tuple[dict[str, dict[str, float]], dict[str | None, int]]:
        """Each key's members (member -> score) for `events`, and each partition's newest
        watermark time among them."""
        events = events.reset_index(drop=True)
        missing = [c for c in self.columns if c not in events.columns]
        if missing:
            raise ValueError(f"the events lack the column(s) {missing} the online features read")
        keys = events[self.stream.key].astype(str)
        bad = keys.str.contains(r"[\x00-\x1f]", regex=True)
        if bad.any():
            raise ValueError(
                f"event key '{self.stream.key}' holds control characters (first: {keys[bad].iloc[0]!r})"
            )
        out: dict[str, dict[str, float]] = defaultdict(dict)
        for event_set in self.sets:
            when = minutes(events[event_set.time])
            order = minutes(events[event_set.before_own]) if event_set.before_own else np.zeros(len(events))
            entity = events[event_set.entity]
            keep = ~np.isnan(when) & ~np.isnan(order) & entity.notna().to_numpy()
            day_minutes = minutes(events[event_set.same_day]) if event_set.same_day else None
            if day_minutes is not None:
                keep &= ~np.isnan(day_minutes)
            where = f"{self.prefix}:{event_set.name}:" + entity[keep].astype(str)
            if day_minutes is not None:
                day = pd.Series(day_minutes[keep] // DAY_MINUTES, index=where.index).astype(np.int64)
                where = where + ":" + day.astype(str)
            member = pd.Series(order[keep].astype(np.int64), index=where.index).astype(str).str.zfill(11)
            member = member + SEPARATOR + keys[keep]
            for column in event_set.fields:
                member = member + SEPARATOR + _field_text(events.loc[keep, column])
            for key, text, score in zip(where.to_numpy(), member.to_numpy(), when[keep], strict=True):
                out[key][text] = score
        mark = minutes(events[self.stream.watermark])
        has = ~np.isnan(mark)
        newest: dict[str | None, int] = {}
        if self.stream.partition is None:
            newest = {None: int(mark[has].max())} if has.any() else {}
        else:
            owner = events[self.stream.partition].to_numpy()[has].astype(str)
            newest = {k: int(v) for k, v in pd.Series(mark[has]).groupby(owner).max().items()}
        return out, newest

    def partitions(self, events: pd.DataFrame) -> set[str | None]:
        if self.stream.partition is None:
            return {None}
        values = events[self.stream.partition]
        return {str(v) for v in values[values.notna()].unique()}

    def partition_of(self, key: str) -> str | None:
        """The partition value whose watermark trims `key` (None: the key expires instead): the
        keys of a set of the partition's own entity."""
        if self.stream.partition is None:
            return None
        for event_set in self.sets:
            head = f"{self.prefix}:{event_set.name}:"
            if event_set.entity == self.stream.partition and not event_set.same_day and key.startswith(head):
                return key[len(head) :]
        return None


def _field_text(series: pd.Series) -> pd.Series:
    """A member field: a time as whole minutes, a number as Python's shortest round-trip text
    (Lua's tonumber reads back the same double), '' where missing."""
    if pd.api.types.is_datetime64_any_dtype(series):
        values = minutes(series)
        text = ["" if v != v else str(int(v)) for v in values]
    else:
        numbers = pd.to_numeric(series, errors="raise").to_numpy(np.float64)
        text = ["" if v != v else repr(float(v)) for v in numbers]
    return pd.Series(text, index=series.index, dtype=object)


class OnlineStore:
    """Events in, online features out, over one Redis client; what is stored and read is a
    `Layout`'s."""

    def __init__(self, client: redis.Redis, retry_after_seconds: float = 0.5):
        self.client = client
        # A store that just failed is not asked again before this: a request must not wait
        # on a connect timeout per row while it is down.
        self.retry_after_seconds = retry_after_seconds
        self._down_until = 0.0
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
    def ingest(self, layout: Layout, events: pd.DataFrame, complete_until: pd.Timestamp | None = None) -> int:
        """Write `events` (the stream's rows: every column the layout reads). Idempotent: an event
        written twice is one event. Each partition's watermark moves to `complete_until` (default:
        its newest watermark time). Returns the number of events read."""
        watermark = None if complete_until is None else int(minutes(pd.Series([complete_until]))[0])
        for start in range(0, len(events), INGEST_BATCH):
            self._ingest_batch(layout, events.iloc[start : start + INGEST_BATCH], watermark)
        return len(events)

    def _ingest_batch(self, layout: Layout, batch: pd.DataFrame, watermark: int | None) -> None:
        """One command for the batch (`_INGEST`: every set's members, the expiries, each
        partition's watermark and trim): redis-py packs and parses per command, which cost more
        than Redis's own work when a batch touches a key per plane and day."""
        sets, newest = layout.members(batch)
        keys: list[str] = []
        args: list[Any] = [layout.retention_minutes, layout.retention_minutes * 60, len(sets)]
        trimmed: dict[str | None, list[int]] = defaultdict(list)
        for key, members in sets.items():
            keys.append(key)
            partition = layout.partition_of(key)
            if partition is not None:
                trimmed[partition].append(len(keys))
            args += (0 if partition is not None else 1, len(members))
            for member, score in members.items():
                args += (score, member)
        partitions = layout.partitions(batch) | set(newest)
        args.append(len(partitions))
        for partition in partitions:
            mark = watermark if watermark is not None else newest.get(partition)
            keys.append(layout.watermark_key(partition))
            args += ("" if mark is None else mark, len(trimmed[partition]), *trimmed[partition])
        self.client.eval(_INGEST, len(keys), *keys, *args)

    # ---- lookup ---------------------------------------------------------------------------
    def lookup(self, layout: Layout, rows: Sequence[tuple]) -> list[Lookup]:
        """Each row's features (rows of (*entity values in `layout.entities` order, own event
        minute)) in one round trip."""
        if not rows:
            return []
        if time.monotonic() < self._down_until:
            return [Lookup(dict.fromkeys(layout.names), STORE_DOWN) for _ in rows]
        import redis

        chunks = [rows[i : i + LOOKUP_CHUNK] for i in range(0, len(rows), LOOKUP_CHUNK)]
        try:
            # each path loads the script again when Redis answers NOSCRIPT (a restarted store)
            if len(chunks) == 1:
                replies = [self._run_lookup(layout, *layout.lookup_input(chunks[0]))]
            else:
                replies = self._pipelined(layout, chunks)
        except redis.RedisError:
            self._down_until = time.monotonic() + self.retry_after_seconds
            return [Lookup(dict.fromkeys(layout.names), STORE_DOWN) for _ in rows]
        return [lookup for reply in replies for lookup in layout.decode(reply)]

    def _pipelined(self, layout: Layout, chunks: list) -> list:
        import redis

        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=False)
            for chunk in chunks:
                keys, args = layout.lookup_input(chunk)
                pipe.evalsha(layout.lookup_sha, len(keys), *keys, *args)
            try:
                return pipe.execute()
            except redis.exceptions.NoScriptError:
                if attempt == 2:
                    raise
                self.client.script_load(layout.lookup_script)
        raise AssertionError("unreachable")

    def _run_lookup(self, layout: Layout, keys: list[str], args: list) -> list:
        """One lookup on the store's own connection (`connection.send_command` and
        `read_response`: the pool's get and release and the client's retry cost more than the
        command). A connection closed since the last lookup (a restarted store) is made anew once;
        a store that lost its scripts gets the script loaded again; a timeout is not retried."""
        import redis

        reconnected = reloaded = False
        with self._connection_lock:
            while True:
                try:
                    return self._send_lookup(layout, keys, args)
                except redis.exceptions.NoScriptError:
                    if reloaded:
                        raise
                    self.client.script_load(layout.lookup_script)
                    reloaded = True
                except redis.ConnectionError:
                    if reconnected:
                        raise
                    reconnected = True  # it disconnected itself: the next send connects anew

    def _send_lookup(self, layout: Layout, keys: list[str], args: list) -> list:
        if self._connection is None or self._connection_pid != os.getpid():
            # a forked worker must not share its parent's socket
            self._connection = self.client.connection_pool.make_connection()
            self._connection_pid = os.getpid()
        self._connection.send_command("EVALSHA", layout.lookup_sha, len(keys), *keys, *args)
        return self._connection.read_response()


# ---- the lookup script ------------------------------------------------------------------------
_AGGREGATION_CODE = {name: i + 1 for i, name in enumerate(AGGREGATIONS)}


def _lookup_script(reads: Sequence[_Read], names: Sequence[str]) -> str:
    """The generic lookup with the layout's plan: per read its window (-1: none), whether the
    ordering rule applies, the `until` field (0: none), the member pattern, and per feature its
    aggregation code, value field (0: none) and place in the reply."""
    place = {name: i + 1 for i, name in enumerate(names)}
    plan = []
    for read in reads:
        fields = read.set.fields
        pattern = "^(%d+)\\31[^\\31]*" + "\\31([^\\31]*)" * len(fields) + "$"
        features = ", ".join(
            f"{{{_AGGREGATION_CODE[f.aggregation]}, {fields.index(f.value) + 1 if f.value else 0}, "
            f"{place[f.name]}}}"
            for f in read.features
        )
        window = read.window if read.window else -1
        until = fields.index(read.until) + 1 if read.until else 0
        before_own = "true" if read.set.before_own else "false"
        scores = "true" if any(f.aggregation == TIME_SINCE_LAST for f in read.features) else "false"
        plan.append(
            f"{{window = {window}, before_own = {before_own}, closes = {until}, pattern = '{pattern}', "
            f"scores = {scores}, features = {{{features}}}}}"
        )
    codes = "".join(f"local {name.upper()} = {code}\n" for name, code in _AGGREGATION_CODE.items())
    return f"local READS = {{{', '.join(plan)}}}\nlocal NFEATURES = {len(names)}\n{codes}{_LOOKUP_BODY}"


# For each row (ARGV after the row count: t, its own event minute, one '1'/'0' per read: whether
# the row's entity of that read is present and its key follows): 0 when the partition's watermark
# is missing or before t, else 1 and one string per feature ('' where missing) in the reply's
# order: the declarations' rules (`operational.declarations`) over the members of each read's key
# whose score lies in (t - window, t] (no window: up to t). Numbers leave as '%.17g' text: exactly
# the doubles computed here.
_LOOKUP_BODY = """
local function text(x) return string.format('%.17g', x) end
local reply, k, a = {}, 0, 1
for _ = 1, tonumber(ARGV[1]) do
  local at, own, present = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3]
  a = a + 3
  k = k + 1
  local mark = tonumber(redis.call('GET', KEYS[k]))
  if mark == nil or mark < at then
    reply[#reply + 1] = 0
    for r = 1, #READS do
      if string.byte(present, r) == 49 then k = k + 1 end
    end
  else
    reply[#reply + 1] = 1
    local values = {}
    for r = 1, #READS do
      local read = READS[r]
      local features = read.features
      if string.byte(present, r) == 49 then
        k = k + 1
        local count, total, best, latest, latest_at = {}, {}, {}, {}, {}
        for f = 1, #features do count[f], total[f] = 0, 0 end
        local lo = '-inf'
        if read.window > 0 then lo = '(' .. (at - read.window) end
        local members
        if read.scores then
          members = redis.call('ZRANGEBYSCORE', KEYS[k], lo, at, 'WITHSCORES')
        else
          members = redis.call('ZRANGEBYSCORE', KEYS[k], lo, at)
        end
        local step = read.scores and 2 or 1
        for j = 1, #members, step do
          -- no table a member: the order and up to MAX_FIELDS fields as locals
          local order, f1, f2, f3 = string.match(members[j], read.pattern)
          local keep = (not read.before_own) or tonumber(order) < own
          if keep and read.closes > 0 then
            local c = read.closes
            local closed = c == 1 and f1 or (c == 2 and f2 or f3)
            keep = closed == '' or tonumber(closed) > at
          end
          if keep then
            for f = 1, #features do
              local code, field = features[f][1], features[f][2]
              local x = nil
              if field == 1 then x = tonumber(f1)
              elseif field == 2 then x = tonumber(f2)
              elseif field == 3 then x = tonumber(f3) end
              if field == 0 or x ~= nil then
                count[f] = count[f] + 1
                if code == SUM or code == MEAN then
                  total[f] = total[f] + x
                elseif code == MAX then
                  if best[f] == nil or x > best[f] then best[f] = x end
                elseif code == MIN then
                  if best[f] == nil or x < best[f] then best[f] = x end
                elseif code == LAST then
                  latest[f] = x
                elseif code == TIME_SINCE_LAST then
                  latest_at[f] = tonumber(members[j + 1])
                end
              end
            end
          end
        end
        for f = 1, #features do
          local code, out = features[f][1], ''
          if code == COUNT then out = text(count[f])
          elseif code == SUM then out = text(total[f])
          elseif code == MEAN then if count[f] > 0 then out = text(total[f] / count[f]) end
          elseif code == MAX or code == MIN then if best[f] ~= nil then out = text(best[f]) end
          elseif code == LAST then if latest[f] ~= nil then out = text(latest[f]) end
          elseif latest_at[f] ~= nil then out = text(at - latest_at[f])
          end
          values[features[f][3]] = out
        end
      else
        for f = 1, #features do values[features[f][3]] = '' end
      end
    end
    for f = 1, NFEATURES do reply[#reply + 1] = values[f] end
  end
end
return reply
"""


# Ingestion of a batch (ARGV: the retention in minutes and in seconds, the number of set keys;
# then per set key, in KEYS' order: 1 when it expires (else it is trimmed behind its partition's
# watermark), its member count and (score, member) pairs; then the number of partitions and per
# partition, its watermark key following the set keys in KEYS: the proposed watermark ('' none),
# the count and KEYS' indexes of its trimmed sets). The watermark only moves forward (a late batch
# of old events does not pull it back), and the partition's sets keep `retention` minutes behind it.
_INGEST = """
local retention, ttl, nsets = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local a = 4
for i = 1, nsets do
  local expires, n = ARGV[a] == '1', tonumber(ARGV[a + 1])
  a = a + 2
  for first = 0, n - 1, 1000 do
    local batch = {}
    for j = first, math.min(n, first + 1000) - 1 do
      batch[#batch + 1] = ARGV[a + 2 * j]
      batch[#batch + 1] = ARGV[a + 2 * j + 1]
    end
    redis.call('ZADD', KEYS[i], unpack(batch))
  end
  a = a + 2 * n
  if expires then redis.call('EXPIRE', KEYS[i], ttl) end
end
local npartitions = tonumber(ARGV[a])
a = a + 1
for p = 1, npartitions do
  local key = KEYS[nsets + p]
  local current = tonumber(redis.call('GET', key))
  local proposed = tonumber(ARGV[a])
  if proposed ~= nil and (current == nil or proposed > current) then
    redis.call('SET', key, proposed)
    current = proposed
  end
  local m = tonumber(ARGV[a + 1])
  if current ~= nil then
    local oldest = '(' .. (current - retention)
    for j = 1, m do redis.call('ZREMRANGEBYSCORE', KEYS[tonumber(ARGV[a + 1 + j])], '-inf', oldest) end
  end
  a = a + 2 + m
end
return 0
"""

__all__ = ["LAST", "Layout", "Lookup", "OnlineStore", "STORE_BEHIND", "STORE_DOWN"]
