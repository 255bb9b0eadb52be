"""How the pipeline's cost grows with the data: the data workflow, a cold training workflow and
batch scoring of a month at 1x, 2x, 4x and 8x the rows, each task's wall time and peak memory.

    make bench-scale       (or: .venv/bin/python benchmarks/scale.py [--factors 1,2,4,8])

The rows: the real 2013 flights of `--months` (January to March by default), replicated into
more airports and planes. Replica r > 0 of a flight departs from a copy of its airport (`EWR`
becomes `EWR1`, ... with that airport's weather copied) in a copy of its plane (tail number
`N14228` becomes `N14228-1`, with the plane's facts copied): each replica is a set of new routes
(origin-destination pairs) whose flights, labels, weather and operational features are those of
the real ones, so the label rate and the drift between months are the real ones at every size,
and an airport's departure counts do not grow with the factor (a copy of the same airport would
double its traffic features). Sources are parquet files in a temporary directory.

For each factor, from an empty Flyte cache and MLflow store (`HOME` and `MLOPS_DATA_DIR` of its
own), one after the other, each a `pyflyte run` as a user types it:

1. `workflows/data.py data_workflow --as_of <as_of>`;
2. `workflows/training.py training_workflow --as_of <as_of>` (cold: a cache of its own), with a
   fixed tree count, `--max-iter` (100 by default; `early_stopping` off, so the replicas, which
   the validation split would also hold, cannot change how many trees a size grows);
3. `workflows/batch_inference.py batch_inference_workflow` on the month from `as_of`, with the
   model the training registered.

The window: as_of 2013-03-01 by default (train January, hold out February, score March), a
shorter window than `make demo`'s so that 8x runs on a 2-core machine in minutes. Each run goes
through `scripts.progress`, whose lines time each task; the process's resident memory is sampled
every 0.1 s and each task's peak is the largest sample while it ran (tasks run in the `pyflyte`
process locally: its VmHWM is the run's peak). Prints, per task and per workflow, seconds, peak
MiB and the cost per row relative to 1x (seconds / rows over the same at 1x), and the machine's
load during each run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import Interval, Watch  # noqa: E402

TASK_START = "→ "
TASK_END = "✓ "
SAMPLE_SECONDS = 0.1
POD_MIB = 16 * 1024
TRAINING_MEMORY_TARGET_MIB = 4 * 1024
PER_ROW_TARGET = 1.25


def source_tables() -> dict[str, pd.DataFrame]:
    from usecases.flights.source import default_source, read_table

    source = default_source()
    return {name: read_table(source, name) for name in ("flights", "weather", "planes")}


def replicate(tables: dict[str, pd.DataFrame], factor: int, months: int) -> dict[str, pd.DataFrame]:
    """The first `months` of flights and weather, `factor` times: replica r > 0 in copies of the
    airports (`EWR` -> `EWR{r}`) and of the planes (`N14228` -> `N14228-{r}`)."""
    flights = tables["flights"].loc[lambda frame: frame["month"] <= months]
    weather = tables["weather"].loc[lambda frame: frame["month"] <= months]
    planes = tables["planes"]
    copies: dict[str, list[pd.DataFrame]] = {"flights": [], "weather": [], "planes": []}
    copies["flights"].append(flights)
    copies["weather"].append(weather)
    copies["planes"].append(planes)
    for replica in range(1, factor):
        copies["flights"].append(
            flights.assign(
                origin=flights["origin"] + str(replica), tailnum=flights["tailnum"] + f"-{replica}"
            )
        )
        copies["weather"].append(weather.assign(origin=weather["origin"] + str(replica)))
        copies["planes"].append(planes.assign(tailnum=planes["tailnum"] + f"-{replica}"))
    return {name: pd.concat(frames, ignore_index=True) for name, frames in copies.items()}


@dataclass
class Run:
    """One `pyflyte run`: wall and CPU seconds and peak MiB of the run, and of each task that ran
    (not served by the cache): {task: (wall s, CPU s, peak MiB)}."""

    name: str
    wall: float = 0.0
    cpu: float = 0.0
    peak_mib: float = 0.0
    tasks: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    machine: Interval | None = None


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15 of stat)


def rss_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0, 0.0
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return tuple(float(fields.get(key, "0 kB").split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))  # type: ignore[return-value]


def pyflyte_run(name: str, arguments: list[str], env: dict) -> Run:
    """Run `pyflyte run <arguments>` through scripts.progress; time and sample each task."""
    command = [sys.executable, "-m", "scripts.progress", "pyflyte", "run", *arguments]
    run = Run(name)
    current: list[str] = []  # the running tasks, innermost last
    peaks: dict[str, float] = {}
    cpu_at_start: dict[str, float] = {}
    last_cpu = [0.0]
    lines: list[str] = []
    with Watch() as watch:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

        def read_progress() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                lines.append(line)
                text = line.strip()
                if text.startswith(TASK_START):
                    current.append(text[len(TASK_START) :])
                    peaks[current[-1]] = 0.0
                    cpu_at_start[current[-1]] = cpu_seconds(process.pid)
                elif text.startswith(TASK_END) and current:
                    task, _, rest = text[len(TASK_END) :].partition("  ")
                    seconds = float(rest.split()[0])
                    used = cpu_seconds(process.pid) - cpu_at_start.get(task, 0.0)
                    if "(cached)" not in rest:
                        run.tasks[task] = (seconds, used, peaks.get(task, 0.0))
                    if task in current:
                        current.remove(task)

        reader = threading.Thread(target=read_progress, daemon=True)
        reader.start()
        high_water = 0.0
        while process.poll() is None:
            rss, hwm = rss_mib(process.pid)
            high_water = max(high_water, hwm)
            last_cpu[0] = max(last_cpu[0], cpu_seconds(process.pid))
            for task in current:
                peaks[task] = max(peaks.get(task, 0.0), rss)
            time.sleep(SAMPLE_SECONDS)
        stdout = process.stdout.read() if process.stdout else ""
        reader.join()
        run.wall = time.perf_counter() - started
    run.peak_mib = high_water
    run.cpu = last_cpu[0]  # the last sample before the process ended (up to 0.1 s short)
    run.machine = watch.interval
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed:\n{stdout[-2000:]}\n{''.join(lines)[-5000:]}")
    return run


def runs_at(
    factor: int, source: Path, root: Path, as_of: datetime, max_iter: int
) -> tuple[list[Run], dict[str, int]]:
    """The three runs of one size, each from an empty cache; the rows each one read."""
    data = json.dumps({"source_dir": str(source)})
    month_end = (pd.Timestamp(as_of) + pd.offsets.MonthBegin(1)).strftime("%Y-%m-%d")
    day = f"{as_of:%Y-%m-%d}"

    def env(name: str) -> dict:
        return {
            **os.environ,
            "HOME": str(root / name / "home"),
            "MLOPS_DATA_DIR": str(root / "mlops"),  # the batch run scores the model trained here
            "PYTHONPATH": str(ROOT),
        }

    hyperparameters = json.dumps({"early_stopping": False, "max_iter": max_iter})
    runs = [
        pyflyte_run(
            "data workflow",
            ["workflows/data.py", "data_workflow", "--as_of", day, "--config", data],
            env("data"),
        ),
        pyflyte_run(
            "training workflow (cold)",
            [
                "workflows/training.py",
                "training_workflow",
                "--as_of",
                day,
                "--data",
                data,
                "--hyperparameters",
                hyperparameters,
            ],
            env("training"),
        ),
        pyflyte_run(
            "batch scoring of a month",
            [
                "workflows/batch_inference.py",
                "batch_inference_workflow",
                "--start",
                day,
                "--end",
                month_end,
                "--data",
                data,
            ],
            env("batch"),
        ),
    ]
    flights = pd.read_parquet(source / "flights.parquet", columns=["month"])
    rows = {
        "data workflow": int(flights["month"].between(1, as_of.month - 1).sum()),
        "training workflow (cold)": int(flights["month"].between(1, as_of.month - 1).sum()),
        "batch scoring of a month": int((flights["month"] == as_of.month).sum()),
    }
    return runs, rows


def report(results: dict[int, tuple[list[Run], dict[str, int]]]) -> list[str]:
    """Per run and task: wall s, CPU s, peak MiB at each factor, and the cost per row relative to
    the smallest factor (wall / CPU)."""
    base_runs, base_rows = results[min(results)]
    lines = []
    header = f"  {'':<40}" + "".join(
        f" | {f'{factor}x wall':>9} {'CPU':>6} {'MiB':>6} {'/row wall, CPU':>14}" for factor in results
    )
    for index, base in enumerate(base_runs):
        lines.append(
            f"{base.name} ({', '.join(f'{rows[base.name]:,}' for _, rows in results.values())} rows)"
        )
        lines.append(header)
        for name in [*base.tasks, "(whole run)"]:
            cells = []
            for runs, rows in results.values():
                run = runs[index]
                if name == "(whole run)":
                    figures, base_figures = (
                        (run.wall, run.cpu, run.peak_mib),
                        (base.wall, base.cpu, base.peak_mib),
                    )
                else:
                    nan = float("nan")
                    figures, base_figures = run.tasks.get(name, (nan, nan, nan)), base.tasks[name]
                scale = base_rows[base.name] / rows[run.name]
                per_row = [
                    figure * scale / base_figure if base_figure else float("nan")
                    for figure, base_figure in zip(figures[:2], base_figures[:2], strict=True)
                ]
                cells.append(
                    f" | {figures[0]:>9.1f} {figures[1]:>6.1f} {figures[2]:>6.0f} "
                    f"{per_row[0]:>6.2f}, {per_row[1]:>5.2f}"
                )
            lines.append(f"  {name:<40}" + "".join(cells))
        loads = "; ".join(
            f"{factor}x {runs[index].machine.describe()}" for factor, (runs, _) in results.items()
        )
        lines.append(f"  machine: {loads}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", default="1,2,4,8")
    parser.add_argument("--as-of", default="2013-03-01")
    parser.add_argument("--max-iter", type=int, default=100, help="trees of every fit")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    as_of = datetime.fromisoformat(args.as_of)
    factors = [int(factor) for factor in args.factors.split(",")]
    tables = source_tables()
    results: dict[int, tuple[list[Run], dict[str, int]]] = {}
    policy = ", ".join(
        f"{name}={os.environ.get(name, '(unset)')}" for name in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
    )
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores; as_of {as_of:%Y-%m-%d}, "
        f"{args.max_iter} trees a fit; {policy}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp, Watch() as whole:
        for factor in factors:
            source = Path(tmp) / f"source-{factor}x"
            source.mkdir()
            for name, frame in replicate(tables, factor, as_of.month).items():
                frame.to_parquet(source / f"{name}.parquet", index=False)
            results[factor] = runs_at(factor, source, Path(tmp) / f"runs-{factor}x", as_of, args.max_iter)
            for run in results[factor][0]:
                print(
                    f"  {factor}x {run.name}: {run.wall:.1f} s, CPU {run.cpu:.1f} s, "
                    f"peak {run.peak_mib:.0f} MiB, {run.machine.describe()}",
                    flush=True,
                )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    str(factor): {
                        "rows": rows,
                        "runs": [
                            {
                                "name": r.name,
                                "wall": r.wall,
                                "cpu": r.cpu,
                                "peak_mib": r.peak_mib,
                                "tasks": r.tasks,
                            }
                            for r in runs
                        ],
                    }
                    for factor, (runs, rows) in results.items()
                },
                indent=1,
            )
        )
    print("\n".join(report(results)))
    print(f"whole run {whole.interval.seconds / 60:.1f} min, {whole.interval.describe()}")


if __name__ == "__main__":
    main()
