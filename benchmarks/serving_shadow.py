"""What the shadow challenger costs a served one-row request: three Seldon servers (2 workers each,
all writing the request log), one serving the champion alone, one also scoring a challenger in
shadow (`challenger.json`) on the default `SHADOW_SHARE` (every request), one on a quarter of
them (`SHADOW_SHARE=0.25`), measured with wrk in alternating rounds (each ratio the median of its
per-round ratios, the servers measured back to back).

    python benchmarks/serving_shadow.py        (make bench-serving runs it after serving.py)

Each round measures both servers at 8 connections (the throughput, and a median that is mostly
queueing: about connections / throughput) and at 1 connection (a request alone: its median is the
request's own latency). The challenger scores a worker's queued requests in batches
(`scoring.shadow`) after the answer is sent, so it costs the worker's time, which the throughput
shows, and adds to a request's latency only when that request has to wait for a worker still
busy with a batch, or when the challenger's trees have pushed the champion's out of the cache
(`--cache` below).

Each measure also reads the workers' CPU time (/proc/<pid>/stat) around it: CPU milliseconds a
request, the shadow's cost itself, which other processes on shared cores disturb much less than
they disturb throughput and latency. The round's order alternates (shadow first, then champion
first) so that a drift in the machine's load favours neither.

In process, without HTTP: `python benchmarks/serving_shadow.py --in-process ROOT` (the serving
environment) times `Session.predict` (check, score, metrics, the request-log line, and the
challenger's scores when ROOT has challenger.json) in CPU microseconds a request; the benchmark
runs it on the champion's root and on the challenger's with every request shadowed, one process
each, in alternating runs. `--cache ROOT ROWS` times the champion's one-row scoring alone, right
after the challenger scored a row, and with the challenger scoring a batch
(`scoring.shadow.DEFAULT_BATCH_ROWS` rows) at a time.

Targets, read at the default share: shadow scoring adds <= 10 % to the median one-row latency, at 1
connection, and costs <= 15 % of the one-row throughput, at 8 (the 8-connection added median is
printed too). A quarter of the requests shows what a smaller share saves.
The challenger is a second copy of `benchmarks/serving.py`'s bundle (May-June 2013 model)
published as version 2: the same trees, so the same scoring cost as a refit on other months; the
rows are July's.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import (  # noqa: E402 - the sibling benchmark's helpers
    CONNECTIONS,
    MODEL_CLASS,
    ROUNDS,
    SECONDS,
    SELDON_PATH,
    SERVING_PY,
    bundle_and_rows,
    model_root,
    post,
    seldon_row,
    start_seldon,
    stop,
    worker_pids,
    wrk,
)

MAX_ADDED_SHARE = 0.10
MIN_RATIO = 0.85
LOADS = {"loaded": CONNECTIONS, "alone": 1}  # wrk connections
NAMES = {
    "shadow": "challenger, every request (default)",
    "shadow-quarter": "challenger, a quarter",
    "champion": "champion alone",
}
SHADOW_ENV = {"shadow": {}, "shadow-quarter": {"SHADOW_SHARE": "0.25"}, "champion": {}}


def shadow_root(bundle: Path, workdir: Path, name: str = "shadow") -> Path:
    """A model root serving `bundle` as v1 with a copy of it as the v2 challenger."""
    from contract.bundle import METADATA_FILE
    from seldon.pointer import CHALLENGER_POINTER_FILE, version_dir, write_pointer

    root = model_root(bundle, workdir / name)
    challenger = version_dir(root, "2")
    shutil.copytree(bundle, challenger)
    metadata = json.loads((challenger / METADATA_FILE).read_text())
    (challenger / METADATA_FILE).write_text(json.dumps({**metadata, "version": "2"}))
    write_pointer(root, "2", name=CHALLENGER_POINTER_FILE)
    return root


def shadowed(workdir: Path, port: int, body: bytes, name: str, n: int) -> int:
    """How many of `n` requests to the server `name` are logged with the challenger's scores
    (their lines follow the predictions', in batches: waited for up to 3 s)."""
    from contract.request_log import SHADOW, iter_request_lines

    puids = {json.loads(post(port, SELDON_PATH, body)[1])["meta"]["puid"] for _ in range(n)}
    deadline, scored = time.monotonic() + 3.0, set()
    while len(scored) < n and time.monotonic() < deadline:
        time.sleep(0.05)
        scored = {
            line["request_id"]
            for line in iter_request_lines(workdir / f"request-log-{name}")
            if line.get("kind") == SHADOW and line.get("request_id") in puids
        }
    return len(scored)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def measure(port: int, log_dir: Path, bodies: list[str], workdir: Path, connections: int) -> dict:
    """wrk's figures, and the workers' CPU milliseconds a request over the same seconds."""
    pids = worker_pids(log_dir)
    before = cpu_seconds(pids)
    result = wrk(port, SELDON_PATH, bodies, workdir, SECONDS, connections)
    result["cpu_ms"] = (cpu_seconds(pids) - before) * 1000 / max(result["requests"], 1)
    return result


def in_process(root: Path, rows_file: Path, n: int = 3000) -> None:
    """Print the median over 5 runs of `Session.predict`'s CPU microseconds a one-row request."""
    from seldon.session import Session
    from seldon.settings import Settings

    rows = json.loads(rows_file.read_text())
    log_dir = str(root.parent / "log-in-process")
    session = Session(
        Settings(model_root=str(root), request_log_dir=log_dir, shadow_share=1.0, metric_prefix="bench")
    )
    session.start()
    bodies = [{"jsonData": seldon_row(row)} for row in rows[:200]]
    runs = []
    for _ in range(5):
        started = time.process_time()
        for index in range(n):
            session.predict(bodies[index % len(bodies)], f"q{index}", None)
        runs.append((time.process_time() - started) / n * 1e6)
    print(json.dumps({"us": statistics.median(runs), "shadow": session.challenger is not None}))


def cache_effect(root: Path, rows_file: Path) -> None:
    """Print the champion's median one-row scoring time (wall microseconds, in process) alone,
    right after the challenger scored a row (the trees of a second model in the core's cache), and
    with the challenger scoring every `batch_rows` rows in one call (`scoring.shadow`)."""
    from contract.bundle import load_bundle
    from scoring.predictor import Predictor
    from scoring.shadow import DEFAULT_BATCH_ROWS as batch_rows
    from scoring.shadow import score_together
    from seldon.pointer import CHALLENGER_POINTER_FILE, pointed_dir, read_pointer

    champion = Predictor(load_bundle(pointed_dir(root, read_pointer(root))))
    challenger = Predictor(load_bundle(pointed_dir(root, read_pointer(root, CHALLENGER_POINTER_FILE))))
    checked = [champion.check({"jsonData": seldon_row(row)}) for row in json.loads(rows_file.read_text())]

    def timed(columns) -> float:
        started = time.perf_counter()
        champion.score(columns)
        return (time.perf_counter() - started) * 1e6

    alone, after, batched = [], [], []
    for _ in range(5):
        alone += [timed(c.columns) for c in checked]
        for c in checked:
            after.append(timed(c.columns))
            challenger.score(c.columns)
        for start in range(0, len(checked), batch_rows):
            batched += [timed(c.columns) for c in checked[start : start + batch_rows]]
            score_together(challenger, checked[start : start + batch_rows])
    figures = {"alone": alone, "after_each": after, "batched": batched}
    print(
        json.dumps({**{name: statistics.median(v) for name, v in figures.items()}, "batch_rows": batch_rows})
    )


def serving_run(mode: str, root: Path, rows_file: Path) -> dict:
    """This file's `mode` (--in-process, --cache) in the serving environment: its JSON line."""
    out = subprocess.run(
        [str(SERVING_PY), __file__, mode, str(root), str(rows_file)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"},
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def in_process_us(roots: dict[str, Path], rows: list[dict], workdir: Path) -> dict[str, float]:
    """Each root's in-process figure, 3 alternating runs each, the median kept."""
    rows_file = workdir / "rows-in-process.json"
    rows_file.write_text(json.dumps(rows[:200]))
    runs: dict[str, list[float]] = {name: [] for name in roots}
    for _ in range(3):
        for name, root in roots.items():
            figure = serving_run("--in-process", root, rows_file)
            assert figure["shadow"] == (name != "champion"), figure
            runs[name].append(figure["us"])
    return {name: statistics.median(values) for name, values in runs.items()}


def main() -> int:
    if sys.argv[1:2] == ["--in-process"]:
        in_process(Path(sys.argv[2]), Path(sys.argv[3]))
        return 0
    if sys.argv[1:2] == ["--cache"]:
        cache_effect(Path(sys.argv[2]), Path(sys.argv[3]))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="bench-shadow-"))
    processes: list[subprocess.Popen] = []
    try:
        bundle, rows = bundle_and_rows(workdir)
        roots = {name: shadow_root(bundle, workdir, name) for name in ("shadow", "shadow-quarter")}
        roots["champion"] = model_root(bundle, workdir / "champion")
        floor = in_process_us({name: roots[name] for name in ("shadow", "champion")}, rows, workdir)
        cache = serving_run("--cache", roots["shadow"], workdir / "rows-in-process.json")
        servers = {}
        for name, root in roots.items():
            process, http = start_seldon(MODEL_CLASS, 2, root, workdir, name, SHADOW_ENV[name])
            processes.append(process)
            servers[name] = http
        bodies = [json.dumps({"jsonData": seldon_row(row)}) for row in rows[:200]]
        assert shadowed(workdir, servers["shadow"], bodies[0].encode(), "shadow", 10) == 10
        sampled = shadowed(workdir, servers["shadow-quarter"], bodies[0].encode(), "shadow-quarter", 40)
        assert 0 < sampled < 40, sampled  # a quarter shadows some requests, not all
        for name in servers:  # warm-up
            wrk(servers[name], SELDON_PATH, bodies, workdir, 2)
        rounds = []
        for index in range(ROUNDS):
            order = list(servers)[index % 3 :] + list(servers)[: index % 3]  # each server in turn first
            rounds.append(
                {
                    (name, load): measure(
                        servers[name], workdir / f"request-log-{name}", bodies, workdir, connections
                    )
                    for load, connections in LOADS.items()
                    for name in order
                }
            )
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(workdir, ignore_errors=True)
    report(rounds)
    added_us = floor["shadow"] - floor["champion"]
    print(
        f"  in process (Session.predict, CPU): {floor['shadow']:.1f} us shadowing every request, "
        f"{floor['champion']:.1f} us alone ({added_us:+.1f} us a request)"
    )
    print(
        f"  the champion's one-row scoring in process: {cache['alone']:.1f} us alone, "
        f"{cache['after_each'] / cache['alone']:.2f}x right after the challenger scored a row, "
        f"{cache['batched'] / cache['alone']:.2f}x with the challenger scoring "
        f"{cache['batch_rows']} rows at a time"
    )
    return 0


def report(rounds: list[dict]) -> None:
    def median(measure: str, name: str, load: str) -> float:
        return statistics.median([r[name, load][measure] for r in rounds])

    def added(load: str, shadow: str = "shadow") -> float:  # a shadow's share of the champion-alone median
        return statistics.median(
            [r[shadow, load]["p50_ms"] / r["champion", load]["p50_ms"] - 1 for r in rounds]
        )

    def versus(measure: str, shadow: str) -> float:  # a shadow server's figure over the champion's
        return statistics.median(
            [r[shadow, "loaded"][measure] / r["champion", "loaded"][measure] for r in rounds]
        )

    ratio, cpu = versus("requests_per_s", "shadow"), versus("cpu_ms", "shadow") - 1
    failed = sum(result["failed"] for r in rounds for result in r.values())
    load_average = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(
        f"shadow challenger, one-row requests, 2 workers each, {ROUNDS} rounds of {SECONDS:.0f} s per measure"
    )
    for load, connections in LOADS.items():
        print(f"  {connections} connection(s):")
        for name, label in NAMES.items():
            rps, p50 = median("requests_per_s", name, load), median("p50_ms", name, load)
            cpu_ms = median("cpu_ms", name, load)
            figures = f"{rps:8.0f} requests/s   median {p50:.3f} ms   worker CPU {cpu_ms:.3f} ms a request"
            print(f"    {label:17s} {figures}")
        for shadow in ("shadow", "shadow-quarter"):
            print(f"    {NAMES[shadow]} adds to the median request: {added(load, shadow):+.1%}")
    alone = added("alone")
    verdict_p50 = "met" if alone <= MAX_ADDED_SHARE else "MISSED"
    verdict_ratio = "met" if ratio >= MIN_RATIO else "MISSED"
    print(f"  added median at 1 connection: {alone:+.1%} (target <= {MAX_ADDED_SHARE:.0%}: {verdict_p50})")
    print(f"  throughput with/without at {CONNECTIONS}: {ratio:.2f} (target >= {MIN_RATIO}: {verdict_ratio})")
    print(f"  worker CPU a request, with/without, at {CONNECTIONS}: {cpu:+.1%}")
    quarter = versus("requests_per_s", "shadow-quarter")
    print(
        f"  a quarter of the requests shadowed: throughput {quarter:.2f}, "
        f"{added('alone', 'shadow-quarter'):+.1%} median at 1 connection"
    )
    print(f"  failed requests: {failed}; load average {load_average}")


if __name__ == "__main__":
    sys.exit(main())
