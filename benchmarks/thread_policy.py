"""The trees' thread policy, chosen by measurement: the candidates side by side on the project's own
fit, alone and under load, in one run.

    make bench-threads     (or: .venv/bin/python benchmarks/thread_policy.py [--rounds 3] [--max-iter N])

The fit is `train_model`'s: `core.model.fit` with the use case's hyperparameters
(`use_case_hyperparameters()`) on the training frame of the training workflow at as_of
2013-07-01 (every month before June 2013, 137,915 flights), built once and read from a parquet
file by each fit. `--max-iter N` fits N trees without early stopping instead (the same trees,
fewer of them: quicker to repeat on a busy machine).

Each fit runs in a fresh interpreter, since libgomp reads its environment once, at start:

- `default`: libgomp's own (threads spin about 300,000 times, a few ms, before they sleep);
- `spin 10000` / `spin 1000`: `GOMP_SPINCOUNT` bounds the spinning (about 0.1 ms / 10 us);
- `passive`: `OMP_WAIT_POLICY=passive` (threads sleep at once; each parallel region wakes them);
- `one thread`: `OMP_NUM_THREADS=1` (no thread to wait for);
- `spin 1000 + free cores` (the project's): `GOMP_SPINCOUNT=1000`, the fit's threads limited in
  the process by threadpoolctl to the cores no other task runs on as it starts (`core.threads`,
  what `core.model.fit` does);
- `threadpoolctl`: libgomp's default, with the fit's threads limited in the process by
  threadpoolctl to the cores that were idle just before it (`benchmarks.machine.idle_cores`).

Four conditions: `idle-like` (one fit at real-time priority, `chrt --fifo 1`: the scheduler runs
its threads before any ordinary process, so it sees the cores as if the machine were idle, less
the 5 % that Linux keeps from real-time tasks; this machine is shared and never idle), `alone`
(one fit on the machine as found), `two at once` (two fits of the same candidate started
together, like two trainings or two test processes), `beside a neighbour` (one fit beside a
process that builds the data workflow's feature table in a loop, a one-core Python job like a
test suite or another benchmark). The candidates alternate within each round, and each round
starts with the next one, so that the load falls on all of them alike. Each measurement records
the 1-minute load average at its start and the cores' idle share (/proc/stat) while it ran. A fit
still running after `--cap` seconds is stopped and counted as the cap (a lower bound).

The rule (issue 30): the policy is within 10 % of the fastest candidate when idle (`idle-like`),
and no slower than `passive` under load (`two at once`, `beside a neighbour`; `alone` on this
machine is loaded too, and is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import Interval, Watch, idle_cores  # noqa: E402

POLICY_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "OMP_DYNAMIC")
CANDIDATES: dict[str, dict[str, str]] = {
    "default": {},
    "spin 10000": {"GOMP_SPINCOUNT": "10000"},
    "spin 1000": {"GOMP_SPINCOUNT": "1000"},
    "passive": {"OMP_WAIT_POLICY": "passive"},
    "one thread": {"OMP_NUM_THREADS": "1"},
    "threadpoolctl": {},
    "spin 1000 + free cores": {"GOMP_SPINCOUNT": "1000"},
}
# The candidates that limit their threads in the process, and how (`fit_once`).
THREADS_RULE = {"threadpoolctl": "idle", "spin 1000 + free cores": "free"}
REALTIME = "idle-like"  # alone, at real-time priority: the cores as if nothing else ran
CONDITIONS = (REALTIME, "alone", "two at once", "beside a neighbour")
AS_OF = datetime(2013, 7, 1)
FIT_MARGIN = 1.10  # within 10 % of the fastest alone


def training_frame(path: Path) -> int:
    """Write the training workflow's training frame as of AS_OF to `path`; its row count."""
    from core.features import month_window, split_by_time
    from usecases.flights.features import build_features
    from usecases.flights.source import load_window

    window = month_window(AS_OF, 0, 1)
    train, _ = split_by_time(
        build_features(load_window("", window.train_start, window.end)), window.holdout_start
    )
    train.to_parquet(path)
    return len(train)


def fit_once(frame: Path, max_iter: int, threads_rule: str) -> dict:
    """One fit in this process: wall and CPU seconds, trees, threads. `threads_rule`: `free`
    (the project's: `core.model.fit` limits the threads to the free cores), `idle` (limited to
    the cores idle just before), `none` (libgomp decides from the environment alone)."""
    from contextlib import nullcontext
    from dataclasses import replace

    import pandas as pd
    from threadpoolctl import threadpool_limits

    import core.model
    import core.threads
    from core.model import fit, use_case_hyperparameters

    train = pd.read_parquet(frame)
    hyperparameters = use_case_hyperparameters()
    if max_iter:
        hyperparameters = replace(hyperparameters, max_iter=max_iter, early_stopping=False)
    threads = max(1, round(idle_cores())) if threads_rule == "idle" else None
    chosen: list[int] = []
    if threads_rule == "free":

        @contextmanager
        def recorded():
            with core.threads.tree_threads() as count:
                chosen.append(count)
                yield count

        core.model.tree_threads = recorded
    else:  # the candidate's environment alone decides
        core.model.tree_threads = nullcontext
    wall, cpu = time.perf_counter(), time.process_time()
    with threadpool_limits(limits=threads, user_api="openmp"):
        model = fit(train, hyperparameters)
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "trees": int(model[-1].n_iter_),
        "threads": chosen[0] if chosen else threads,
    }


def neighbour_loop() -> None:
    """A one-core neighbour: the data workflow's feature table of June 2013, over and over."""
    from usecases.flights.features import build_features
    from usecases.flights.source import load_window

    while True:
        build_features(load_window("", datetime(2013, 6, 1), datetime(2013, 7, 1)))


def environment(candidate: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in POLICY_VARIABLES}
    return {**env, **CANDIDATES[candidate], "PYTHONPATH": str(ROOT)}


def start_fit(candidate: str, frame: Path, max_iter: int, realtime: bool = False) -> subprocess.Popen:
    command = [sys.executable, __file__, "fit", str(frame), str(max_iter)]
    if realtime:  # SCHED_FIFO, lowest real-time priority: before every ordinary process
        command = ["chrt", "--fifo", "1", *command]
    command.append(THREADS_RULE.get(candidate, "none"))
    return subprocess.Popen(command, env=environment(candidate), stdout=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, started: float, cap: float) -> dict:
    """The fit's figures; a fit still running `cap` seconds after `started` is stopped and counted
    as `cap` seconds (a lower bound, marked `stopped`)."""
    try:
        out, _ = process.communicate(timeout=max(0.0, cap - (time.perf_counter() - started)))
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"wall": cap, "cpu": float("nan"), "trees": 0, "threads": None, "stopped": True}
    if process.returncode != 0:
        raise SystemExit(f"a fit failed ({process.args})")
    return json.loads(out.strip().splitlines()[-1])


@dataclass
class Measured:
    fits: list[dict] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)


def measure(
    condition: str, candidate: str, frame: Path, max_iter: int, cap: float
) -> tuple[list[dict], Interval]:
    """The fits of one measurement of `candidate` under `condition`, and the machine meanwhile."""
    neighbour = None
    if condition == "beside a neighbour":
        neighbour = subprocess.Popen(
            [sys.executable, __file__, "neighbour"], env=environment("passive"), stdout=subprocess.DEVNULL
        )
        time.sleep(3.0)  # past its imports: the neighbour is computing when the fit starts
    try:
        with Watch() as watch:
            count = 2 if condition == "two at once" else 1
            started = time.perf_counter()
            processes = [start_fit(candidate, frame, max_iter, condition == REALTIME) for _ in range(count)]
            fits = [finish(process, started, cap) for process in processes]
    finally:
        if neighbour is not None:
            neighbour.terminate()
            neighbour.wait()
    return fits, watch.interval


def summary(results: dict[str, dict[str, Measured]]) -> dict[str, dict[str, dict]]:
    """Per condition and candidate: median and range of the fits' wall seconds, median CPU
    seconds, median load at the start, median idle share, and ratios to the fastest and to passive."""
    table: dict[str, dict[str, dict]] = {}
    for condition, by_candidate in results.items():
        rows = {}
        for candidate, measured in by_candidate.items():
            walls = [fit["wall"] for fit in measured.fits]
            rows[candidate] = {
                "wall": statistics.median(walls),
                "min": min(walls),
                "max": max(walls),
                "cpu": statistics.median(fit["cpu"] for fit in measured.fits),
                "stopped": sum(bool(fit.get("stopped")) for fit in measured.fits),
                "trees": sorted({fit["trees"] for fit in measured.fits}),
                "threads": sorted({fit["threads"] or 0 for fit in measured.fits}),
                "load": statistics.median(interval.load_start for interval in measured.intervals),
                "idle": statistics.median(interval.idle_share for interval in measured.intervals),
                "fits": len(walls),
            }
        fastest = min(row["wall"] for row in rows.values())
        for row in rows.values():
            row["x_fastest"] = row["wall"] / fastest
            row["x_passive"] = row["wall"] / rows["passive"]["wall"] if "passive" in rows else float("nan")
        table[condition] = rows
    return table


def chosen(table: dict[str, dict[str, dict]]) -> list[str]:
    """The candidates that meet the rule: within FIT_MARGIN of the fastest alone, and no slower
    than passive in every loaded condition."""
    idle = REALTIME if REALTIME in table else "alone"
    loaded = [condition for condition in table if condition not in (REALTIME, "alone")]
    return [
        candidate
        for candidate, row in table.get(idle, {}).items()
        if row["x_fastest"] <= FIT_MARGIN and all(table[c][candidate]["x_passive"] <= 1.0 for c in loaded)
    ]


def print_table(table: dict[str, dict[str, dict]]) -> None:
    for condition, rows in table.items():
        print(f"\n{condition}")
        print(
            f"  {'candidate':<14} {'median s':>8} {'range s':>13} {'CPU s':>6} {'x fastest':>9} "
            f"{'x passive':>9} {'load':>5} {'idle':>5} {'fits':>4}"
        )
        for candidate, row in sorted(rows.items(), key=lambda item: item[1]["wall"]):
            print(
                f"  {candidate:<14} {row['wall']:>8.2f} {row['min']:>6.2f}-{row['max']:<6.2f} "
                f"{row['cpu']:>6.2f} {row['x_fastest']:>9.2f} {row['x_passive']:>9.2f} "
                f"{row['load']:>5.1f} {row['idle']:>5.0%} {row['fits']:>4}"
                + (f"  ({row['stopped']} stopped at the cap: a lower bound)" if row["stopped"] else "")
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--max-iter", type=int, default=0, help="N trees, no early stopping (0: the real fit)"
    )
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--cap", type=float, default=600.0, help="seconds after which a fit is stopped")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    conditions = args.conditions.split(",")
    candidates = args.candidates.split(",")
    results = {c: {k: Measured() for k in candidates} for c in conditions}
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="bench-threads-") as tmp, Watch() as whole:
        frame = Path(tmp) / "train.parquet"
        rows = training_frame(frame)
        trees = f"{args.max_iter} trees" if args.max_iter else "trees by early stopping"
        print(
            f"{started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores; fit: train_model's on {rows:,} rows "
            f"(as_of {AS_OF:%Y-%m-%d}), {trees}",
            flush=True,
        )
        for round_ in range(args.rounds):
            order = candidates[round_ % len(candidates) :] + candidates[: round_ % len(candidates)]
            for condition in conditions:
                for candidate in order:
                    fits, interval = measure(condition, candidate, frame, args.max_iter, args.cap)
                    results[condition][candidate].fits.extend(fits)
                    results[condition][candidate].intervals.append(interval)
                    walls = ", ".join(
                        f"{fit['wall']:.2f}" + (f" ({fit['threads']} thr)" if fit["threads"] else "")
                        for fit in fits
                    )
                    print(
                        f"  round {round_ + 1} {condition:<18} {candidate:<14} {walls:>14} s  "
                        f"{interval.describe()}",
                        flush=True,
                    )
    table = summary(results)
    print_table(table)
    print(
        f"\nwhole run {whole.interval.seconds / 60:.1f} min, {whole.interval.describe()}\n"
        f"meet the rule (<= {FIT_MARGIN:.2f}x the fastest alone, <= passive under load): "
        f"{', '.join(chosen(table)) or 'none'}"
    )
    if args.json:
        args.json.write_text(json.dumps({"started": f"{started:%Y-%m-%d %H:%M}", "table": table}, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "fit":
        print(json.dumps(fit_once(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4])))
    elif len(sys.argv) > 1 and sys.argv[1] == "neighbour":
        neighbour_loop()
    else:
        main()
