"""Replay the events of source days into the online store, as a feed would deliver them: the
use case's event stream (`OnlineFeatures.events`), written in the layout derived from its
declarations.

    python -m scripts.feed_events --day 2013-06-14 [--days 1] [--url redis://127.0.0.1:6379/0]

For the use case of the process (`MLOPS_USE_CASE`, default `usecases.DEFAULT`). The day before
the first day is fed too (the first events' recent past), and each entity's watermark is set to
the end of the last day: an event of those days is then looked up as of its t.
"""

from __future__ import annotations

import argparse
import logging
import time

import pandas as pd

from operational.store import OnlineStore

LOG = logging.getLogger("feed_events")


def feed(store: OnlineStore, case, source: str, first_day: pd.Timestamp, days: int) -> int:
    """Write `case`'s events of [first_day - 1 day, first_day + days) into `store`; the count
    written."""
    if case.online is None or case.online.events is None:
        raise ValueError(f"use case '{case.name}' declares no online event stream (online.events)")
    end = first_day + pd.Timedelta(days=days)
    events = case.online.events(source, first_day - pd.Timedelta(days=1), end)
    if events.empty:
        raise ValueError(f"the source has no events on {first_day:%Y-%m-%d} or the {days - 1} days after it")
    return store.ingest(case.online.layout(), events, complete_until=end)


def main(argv: list[str] | None = None) -> None:
    import usecases

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--day", required=True, type=pd.Timestamp)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--source", default="", help="a directory of the use case's source tables")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    store = OnlineStore.from_url(args.url, timeout_seconds=5)
    began = time.perf_counter()
    written = feed(store, usecases.current(), args.source, args.day.normalize(), args.days)
    seconds = time.perf_counter() - began
    LOG.info("%d events into %s in %.2f s", written, args.url, seconds)


if __name__ == "__main__":
    main()
