"""What the machine was doing during a measurement: the load average and the cores' idle share.

The machine is shared: there is no idle moment to wait for, so every benchmark names the load it
measured under. `/proc/stat`'s first line counts the jiffies every core spent in each state since
boot; the idle share of an interval is the idle (and iowait) jiffies over all of them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")


def cpu_jiffies() -> tuple[int, int]:
    """(idle + iowait, total) jiffies of all cores since boot (0, 0 where there is no /proc/stat)."""
    if not PROC_STAT.exists():
        return 0, 0
    fields = [int(value) for value in PROC_STAT.read_text().splitlines()[0].split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])  # user nice system idle iowait irq softirq steal


@dataclass(frozen=True)
class Interval:
    """Load averages at the start and the end of an interval, and the cores' idle share during it."""

    load_start: float
    load_end: float
    idle_share: float
    seconds: float

    def describe(self) -> str:
        return f"load {self.load_start:.1f}->{self.load_end:.1f}, cores idle {self.idle_share:.0%}"


class Watch:
    """`with Watch() as watch: ...` then `watch.interval`: the machine during the block."""

    def __enter__(self) -> Watch:
        self._load = os.getloadavg()[0]
        self._jiffies = cpu_jiffies()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        idle, total = (now - then for now, then in zip(cpu_jiffies(), self._jiffies, strict=True))
        self.interval = Interval(
            load_start=self._load,
            load_end=os.getloadavg()[0],
            idle_share=idle / total if total else float("nan"),
            seconds=time.perf_counter() - self._started,
        )


def idle_cores(sample_seconds: float = 0.3) -> float:
    """How many cores sat idle over the next `sample_seconds` (cpu count x idle share)."""
    with Watch() as watch:
        time.sleep(sample_seconds)
    return (os.cpu_count() or 1) * watch.interval.idle_share
