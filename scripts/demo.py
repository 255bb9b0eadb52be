"""The main command (`make demo`): train the use case twice on its real data, as a user would.

The use case is `usecases.current()` (`MLOPS_USE_CASE`, `make demo USE_CASE=<name>`); the dates
are its `demo_as_of`.
Runs `pyflyte run workflows/training.py training_workflow --as_of <date>` for each date, keeps
each task's deck under `<data dir>/reports/<date>/`, and prints what happened: versions,
holdout metrics, the gate's decisions, where the decks are, how to open the MLflow UI.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import usecases
from core import paths, registry
from scripts.flyte_log import PLAIN_INFO_LOGS, cache_outcomes, deck_paths
from scripts.progress import PROGRESS_FD_ENV

DECISION_LINE = re.compile(r"^GateDecision\(.*\)$", re.MULTILINE)


def run_training(as_of: str, console: Console) -> tuple[float, dict[str, str]]:
    """One `pyflyte run`; returns its wall time and {task: deck path} of the decks it wrote.

    pyflyte runs through `scripts.progress`, which prints a line as each task starts and ends
    (elapsed time, cached or not) straight to this terminal while its own output is captured."""
    arguments = ["run", "workflows/training.py", "training_workflow", "--as_of", as_of]
    command = [sys.executable, "-m", "scripts.progress", "pyflyte", *arguments]
    progress_fd = os.dup(sys.stdout.fileno())
    env = {
        **os.environ,
        **PLAIN_INFO_LOGS,
        PROGRESS_FD_ENV: str(progress_fd),
    }
    console.print(f"[bold]$ {' '.join(['pyflyte', *arguments])}[/bold]")
    console.file.flush()
    started = time.perf_counter()
    try:
        result = subprocess.run(
            command,
            cwd=paths.PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            pass_fds=(progress_fd,),
        )
    finally:
        os.close(progress_fd)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        console.print(result.stdout[-4000:], result.stderr[-8000:])
        raise SystemExit(f"training for as_of={as_of} failed (exit {result.returncode})")
    decks = deck_paths(result.stderr)
    cached = [outcome for _, outcome in cache_outcomes(result.stderr)].count("hit")
    console.print(f"  done in {elapsed:.1f} s ({cached} cached task results reused)")
    return elapsed, decks


def keep_decks(as_of: str, decks: dict[str, str]) -> Path:
    """Copy this execution's decks next to the MLflow store (local deck files live in /tmp)."""
    target = paths.data_dir() / "reports" / as_of
    target.mkdir(parents=True, exist_ok=True)
    for task, path in decks.items():
        shutil.copyfile(path, target / f"{task}.html")
    return target


def demo_dates() -> list[str]:
    """The use case's demo dates, `YYYY-MM-DD`."""
    return [f"{moment:%Y-%m-%d}" for moment in usecases.current().demo_as_of]


def summary_table(dates: list[str]) -> Table:
    model_name = usecases.current().model_name
    mlflow_client = registry.client()
    table = Table(title=f"Model registry: {model_name}")
    for column in ("as_of", "version", "alias", "holdout ROC AUC", "log loss", "Brier", "decision"):
        table.add_column(column)
    versions = mlflow_client.search_model_versions(f"name = '{model_name}'")
    by_as_of: dict[str, tuple] = {}
    for version in versions:
        run = mlflow_client.get_run(version.run_id)
        by_as_of.setdefault(run.data.tags.get("as_of", ""), (version, run))
    for as_of in dates:
        if as_of not in by_as_of:
            continue
        version, run = by_as_of[as_of]
        metrics = run.data.metrics
        reasons = json.loads(run.data.tags.get("promotion_reasons", "[]"))
        aliases = mlflow_client.get_model_version(model_name, version.version).aliases
        table.add_row(
            as_of,
            str(version.version),
            ", ".join(aliases) or "-",
            f"{metrics.get('holdout_roc_auc', float('nan')):.4f}",
            f"{metrics.get('holdout_log_loss', float('nan')):.4f}",
            f"{metrics.get('holdout_brier', float('nan')):.4f}",
            "; ".join(reasons),
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", nargs="+", help="training cut-off dates (default: the use case's)")
    args = parser.parse_args()
    args.as_of = args.as_of or demo_dates()
    if not args.as_of:
        raise SystemExit(f"use case '{usecases.current().name}' declares no demo_as_of: pass --as-of")
    console = Console(width=160)
    console.print(f"Use case: {usecases.current().name} ({usecases.current().title})")
    console.print(f"MLflow tracking URI: {paths.tracking_uri()}")
    total = 0.0
    report_dirs = []
    for as_of in args.as_of:
        elapsed, decks = run_training(as_of, console)
        total += elapsed
        report_dirs.append(keep_decks(as_of, decks))
    console.print(summary_table(args.as_of))
    console.print(f"Total training time: {total:.1f} s")
    console.print("Decks (open in a browser):")
    for directory in report_dirs:
        for deck in sorted(directory.glob("*.html")):
            console.print(f"  {deck}")
    console.print(
        f"MLflow UI: {Path(sys.executable).parent}/{registry.ui_command()}  -> http://127.0.0.1:5000"
    )


if __name__ == "__main__":
    main()
