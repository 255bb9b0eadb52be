"""Replay the departure events of source days into the online store, as an operations feed would
deliver them: every flight of the day (the timetable) and its departure.

    python -m scripts.feed_departures --day 2013-06-14 [--days 1] [--url redis://127.0.0.1:6379/0]

The day before the first day is fed too (the first flights' recent past), and each origin's
watermark is set to the end of the last day: a flight of those days is then looked up as of its t.
"""

from __future__ import annotations

import argparse
import logging
import time

import pandas as pd

from operational.store import OnlineStore
from usecases.flights.operational import departure_events
from usecases.flights.source import default_source, read_table

LOG = logging.getLogger("feed_departures")


def feed(store: OnlineStore, source: str, first_day: pd.Timestamp, days: int) -> int:
    """Write the events of [first_day - 1 day, first_day + days) into `store`; the count written."""
    flights = read_table(source or default_source(), "flights")
    events = departure_events(flights)
    day = events["sched_dep"].dt.normalize()
    end = first_day + pd.Timedelta(days=days)
    chosen = events.loc[(day >= first_day - pd.Timedelta(days=1)) & (day < end)]
    if chosen.empty:
        raise ValueError(f"the source has no flights on {first_day:%Y-%m-%d} or the {days - 1} days after it")
    return store.ingest(chosen, complete_until=end)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--day", required=True, type=pd.Timestamp)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--source", default="", help="a directory of flights/weather/planes tables")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    store = OnlineStore.from_url(args.url, timeout_seconds=5)
    began = time.perf_counter()
    written = feed(store, args.source, args.day.normalize(), args.days)
    seconds = time.perf_counter() - began
    LOG.info("%d departure events into %s in %.2f s", written, args.url, seconds)


if __name__ == "__main__":
    main()
