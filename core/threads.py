"""How many OpenMP threads the trees take for a fit (and for the evaluation's predictions): every
core the process may use when nothing else runs, one thread when the cores are taken
(docs/performance.md, "Thread policy").

The trees wait for each other thousands of times a fit. Spinning briefly (`GOMP_SPINCOUNT=1000`,
images/threads.env) makes those waits cheap while each thread has a core of its own, and ruinous
when another busy process takes a core a thread waits on: two fits at once ran 28-30 s each
against 7.4 s alone, and one thread each ran 10-11 s. So the thread count is decided when the
fit starts, from the tasks the kernel is running at that moment.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOADAVG = Path("/proc/loadavg")
# How long the running tasks are counted: a busy loop (this process stays running, so a process
# doing the same thing at the same moment is counted too, and two fits started together do not
# both take every core).
SAMPLE_SECONDS = 0.05


def running_elsewhere(sample_seconds: float = SAMPLE_SECONDS, loadavg: Path = LOADAVG) -> float:
    """The median number of runnable tasks other than this one over `sample_seconds` (the 4th
    field of /proc/loadavg counts the running tasks of the machine, this reader among them)."""
    counts = []
    deadline = time.perf_counter() + sample_seconds
    while True:
        running = int(loadavg.read_text().split()[3].split("/")[0])
        counts.append(running - 1)
        if time.perf_counter() >= deadline:
            return float(statistics.median(counts))


def free_threads(usable: int | None = None, cores: int | None = None, elsewhere: float | None = None) -> int:
    """Threads for a fit: the cores no other task is running on, at most the ones this process
    may use (`usable`: its CPU affinity and cgroup quota, joblib's count), at least one."""
    if usable is None:
        from joblib import cpu_count

        usable = cpu_count()
    cores = cores if cores is not None else (os.cpu_count() or 1)
    elsewhere = running_elsewhere() if elsewhere is None else elsewhere
    return max(1, min(usable, int(cores - elsewhere)))


@contextmanager
def tree_threads() -> Iterator[int]:
    """Limit this process's OpenMP threads to `free_threads()` while the block runs."""
    from threadpoolctl import threadpool_limits

    threads = free_threads()
    with threadpool_limits(limits=threads, user_api="openmp"):
        yield threads
