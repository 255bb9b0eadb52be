"""Serving benchmark: the Seldon server against its in-process floor, a no-op model on the same
wrapper, and MLServer 1.7.1 on the same bundle, side by side in one run.

    make bench-serving        (or: PYTHONPATH=. .venv/bin/python benchmarks/serving.py)

One run builds a bundle with the core functions (the default model, trained on May-June 2013),
starts every server once, then measures in ROUNDS alternating rounds (the machine's load drifts:
each ratio is the median of its per-round ratios, every pair measured back to back):
  - the in-process floor (`benchmarks/serving_floor.py`): `scoring.predictor.Predictor`, the
    object the Seldon model class wraps, called without HTTP: median latency of one one-row
    request in one process, one-row throughput of 2 processes, 1000-row rows/s;
  - one-row requests through HTTP with wrk, 8 connections:
      Seldon, 2 workers (request log and metrics on)   vs the no-op model, 2 workers, same wrapper
                                                       and vs the no-op behind this project's
                                                       request guard and hooks (what is left is
                                                       the prediction's own work)
      Seldon, 1 worker                                 vs MLServer, parallel_workers 0 (1 process)
      Seldon at its best setting (2 workers on 2 cores) vs MLServer at its best (the better of
                                                         parallel_workers 0 and 2)
  - one 1000-row request through HTTP vs the same request in process;
then each worker's RSS (workers found by their request-log files) after 10,000 requests vs after
the warm-up (100 one-row requests and 1000-row ones), the per-request cost of the model's
metrics (prometheus-client multiprocess mode) and of Seldon's custom-metrics store, and the row
count where the compiled trees stop beating the vectorised path (the predictor's crossover), and
what a served request adds around the predict path in process (body decoding, request log line,
answer encoding), for one row and for 1000.
Nulls in the sampled rows are replaced by valid values so that every server (MLServer's JSON
codec has no null for FP64) scores the very same rows. MLServer gets the same fitted Pipeline
(joblib, its sklearn runtime's format) with `predict_proba` as output.

BENCH_SECONDS (6) and BENCH_ROUNDS (4) size the run; BENCH_REUSE=DIR keeps the bundle and the
rows in DIR and reuses them on the next run (the training is not what is measured).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCHED_DEP, TAILNUM = "sched_dep", "tailnum"
OPERATIONAL_FEATURES = (
    "origin_recent_departures",
    "origin_recent_dep_delay",
    "origin_backlog",
    "tail_prev_dep_delay",
    "tail_prev_dep_minutes",
)
SERVING_PY = REPO / ".venv-serving" / "bin" / "python"
MLSERVER_BIN = REPO / ".venv-mlserver" / "bin"
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
CONNECTIONS = 8
BATCH_ROWS = 1000
SELDON_PATH = "/api/v1.0/predictions"
MLSERVER_PATH = "/v2/models/flights/infer"
MODEL_CLASS = "seldon.model.BundleModel"
NOOP_CLASS = "benchmarks.noop_model.NoopModel"
GUARDED_NOOP_CLASS = "benchmarks.noop_model.GuardedNoopModel"
TARGETS = {
    "floor_ms": 0.5,
    "vs_noop": 0.80,
    "vs_mlserver_equal": 1.5,
    "p99_ms": 10.0,
    "batch_vs_floor": 0.90,
    "rss_growth": 1.10,
    "metrics_us": 100.0,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build(workdir: Path) -> tuple[Path, list[dict]]:
    from contract.bundle import Metadata
    from core.bundle import build_reference, build_schema, write_bundle
    from core.features import split_by_time
    from core.model import Hyperparameters, fit, predict_scores
    from usecases.flights.features import build_features
    from usecases.flights.schemas import FEATURES, TIMESTAMP
    from usecases.flights.source import load_window

    table = build_features(load_window("", datetime(2013, 5, 1), datetime(2013, 8, 1)))
    train, later = split_by_time(table, datetime(2013, 7, 1))
    hp = Hyperparameters()
    model = fit(train, hp)
    schema = build_schema(train, hp.threshold)
    reference = build_reference(train, predict_scores(model, train), train.late.mean())
    bundle = workdir / "bundle"
    write_bundle(bundle, model, schema, reference, Metadata(version="1", run_id="bench"))
    sample = later.sample(BATCH_ROWS, random_state=0)
    rows = json.loads(sample[FEATURES].to_json(orient="records"))
    fill = {f.name: f.min or 0.0 for f in schema.features if f.kind == "number"}
    rows = [{k: (fill[k] if v is None else v) for k, v in row.items()} for row in rows]
    # A Seldon request names the flight instead of sending the operational features (the online
    # store gives them); MLServer, which has no store, gets them in the row.
    stamps = sample[TIMESTAMP].dt.strftime("%Y-%m-%dT%H:%M").tolist()
    tails = sample[TAILNUM].astype(object).where(sample[TAILNUM].notna(), None).tolist()
    for row, stamp, tail in zip(rows, stamps, tails, strict=True):
        row.update({SCHED_DEP: stamp, TAILNUM: tail})
    (workdir / "rows.json").write_text(json.dumps(rows))
    return bundle, rows


def seldon_row(row: dict) -> dict:
    """What a caller sends: every feature but the operational ones, and the flight's keys."""
    return {k: v for k, v in row.items() if k not in OPERATIONAL_FEATURES}


def model_row(row: dict) -> dict:
    """Every model feature, in the row (a server without the online store)."""
    return {k: v for k, v in row.items() if k not in (SCHED_DEP, TAILNUM)}


def bundle_and_rows(workdir: Path) -> tuple[Path, list[dict]]:
    reuse = os.environ.get("BENCH_REUSE")
    if not reuse:
        return build(workdir)
    keep = Path(reuse)
    if not (keep / "rows.json").exists():
        keep.mkdir(parents=True, exist_ok=True)
        return build(keep)
    return keep / "bundle", json.loads((keep / "rows.json").read_text())


def model_root(bundle: Path, workdir: Path) -> Path:
    from seldon.pointer import version_dir, write_pointer

    root = workdir / "model-root"
    shutil.copytree(bundle, version_dir(root, "1"))
    write_pointer(root, "1")
    return root


def serving_env(**extra: str) -> dict:
    from contract.deployment import METRIC_PREFIX_ENV
    from usecases import current

    prefix = {METRIC_PREFIX_ENV: current().metric_prefix}  # what a deployment of the use case sets
    return {**os.environ, **prefix, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **extra}


class Floor:
    """The in-process side (benchmarks/serving_floor.py), kept warm between rounds."""

    def __init__(self, bundle: Path, rows_file: Path):
        self.process = subprocess.Popen(
            [str(SERVING_PY), str(REPO / "benchmarks" / "serving_floor.py"), str(bundle), str(rows_file)],
            env=serving_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert json.loads(self.process.stdout.readline())["ready"]

    def ask(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def wait_http(port: int, path: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"127.0.0.1:{port}{path} not ready")


def post(port: int, path: str, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()


def wrk(
    port: int, path: str, bodies: list[str], workdir: Path, seconds: float, connections: int = CONNECTIONS
) -> dict:
    script = workdir / f"bodies-{port}.lua"
    if not script.exists():
        items = ",\n".join(f"[==[{b}]==]" for b in bodies)
        script.write_text(
            f"local bodies = {{\n{items}\n}}\nlocal i = 0\n"
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            "request = function()\n  i = i % #bodies + 1\n"
            "  return wrk.format(nil, nil, nil, bodies[i])\nend\n"
        )
    out = subprocess.run(
        ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
        + ["-s", str(script), f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "requests": total,
        "failed": (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0),
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(pid)


def worker_pids(log_dir: Path) -> list[int]:
    """The live workers of a server: each writes its own request log, requests-<pid>.jsonl."""
    pids = {int(p.name.split("-")[1].split(".")[0]) for p in log_dir.glob("requests-*.jsonl")}
    return sorted(pid for pid in pids if os.path.exists(f"/proc/{pid}"))


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start_seldon(
    model_class: str, workers: int, root: Path, workdir: Path, name: str, extra_env: dict | None = None
) -> tuple:
    http_port, metrics_port = free_port(), free_port()
    process = subprocess.Popen(
        [str(SERVING_PY), "-m", "seldon.serve", model_class, "--workers", str(workers)]
        + ["--grpc-workers", "0", "--http-port", str(http_port), "--metrics-port", str(metrics_port)],
        cwd=REPO,
        stdout=open(workdir / f"{name}.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=serving_env(
            MODEL_ROOT=str(root),
            SERVING_BIND_HOST="127.0.0.1",
            REQUEST_LOG_DIR=str(workdir / f"request-log-{name}"),
            PROMETHEUS_MULTIPROC_DIR=str(workdir / f"metrics-{name}"),
            **(extra_env or {}),
        ),
    )
    wait_http(http_port, "/health/status", process)
    return process, http_port


def start_mlserver(bundle: Path, workdir: Path, parallel_workers: int) -> tuple:
    home = workdir / f"mlserver-{parallel_workers}"
    model_dir = home / "flights"
    model_dir.mkdir(parents=True)
    subprocess.run(
        [
            str(MLSERVER_BIN / "python"),
            "-c",
            "import sys, joblib; from contract.bundle import load_model; "
            "joblib.dump(load_model(sys.argv[1]), sys.argv[2])",
            str(bundle / "model.skops"),
            str(model_dir / "model.joblib"),
        ],
        env=serving_env(),
        check=True,
    )
    http_port = free_port()
    settings = {
        "host": "127.0.0.1",
        "http_port": http_port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": parallel_workers,
    }
    (home / "settings.json").write_text(json.dumps(settings))
    (model_dir / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "flights",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib", "version": "1"},
            }
        )
    )
    process = subprocess.Popen(
        [str(MLSERVER_BIN / "mlserver"), "start", str(home)],
        cwd=home,
        stdout=open(workdir / f"mlserver-{parallel_workers}.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=serving_env(PYTHONPATH=""),
    )
    wait_http(http_port, "/v2/models/flights/ready", process)
    return process, http_port


def http_batch(port: int, body: bytes, repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        status, _ = post(port, SELDON_PATH, body)
        assert status == 200, status
    return BATCH_ROWS * repeats / (time.perf_counter() - started)


def v2_request(row: dict) -> dict:
    inputs = []
    for name, value in row.items():
        if isinstance(value, str):
            inputs.append(
                {
                    "name": name,
                    "datatype": "BYTES",
                    "shape": [1],
                    "data": [value],
                    "parameters": {"content_type": "str"},
                }
            )
        else:
            inputs.append({"name": name, "datatype": "FP64", "shape": [1], "data": [value]})
    return {"parameters": {"content_type": "pd"}, "inputs": inputs, "outputs": [{"name": "predict_proba"}]}


def main() -> int:
    for tool in (SERVING_PY, MLSERVER_BIN / "mlserver"):
        if not tool.exists():
            sys.exit(f"{tool} missing: run `make setup-serving setup-mlserver`")
    if not shutil.which("wrk"):
        sys.exit("wrk missing: run `make setup-wrk`")
    workdir = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    processes: list[subprocess.Popen] = []
    try:
        bundle, rows = bundle_and_rows(workdir)
        rows_file = workdir / "rows.json"
        rows_file.write_text(json.dumps([seldon_row(row) for row in rows]))  # the floor's requests
        root = model_root(bundle, workdir)
        floor = Floor(bundle, rows_file)
        processes.append(floor.process)
        servers = {}
        for name, model_class, workers in (
            ("seldon2", MODEL_CLASS, 2),
            ("seldon1", MODEL_CLASS, 1),
            ("noop2", NOOP_CLASS, 2),
            ("guarded2", GUARDED_NOOP_CLASS, 2),
        ):
            process, port = start_seldon(model_class, workers, root, workdir, name)
            processes.append(process)
            servers[name] = (process, port)
        for parallel in (0, 2):
            try:
                process, port = start_mlserver(bundle, workdir, parallel)
            except (RuntimeError, TimeoutError) as exc:  # parallel workers need uvloop < 0.22
                print(f"MLServer with parallel_workers {parallel} did not start ({exc}): skipped")
                continue
            processes.append(process)
            servers[f"mlserver{parallel}"] = (process, port)
        results = measure(floor, servers, rows, workdir)
        results["latency"] = floor.ask(mode="latency", repeats=3000)
        results["metrics_cost"] = floor.ask(mode="metrics", repeats=3000)
        results["crossover"] = floor.ask(mode="crossover")
        results["overheads"] = floor.ask(mode="overheads")
        floor.close()
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    return 0


def measure(floor: Floor, servers: dict, rows: list[dict], workdir: Path) -> dict:
    bodies = [json.dumps({"jsonData": seldon_row(row)}) for row in rows[:200]]
    v2_bodies = [json.dumps(v2_request(model_row(row))) for row in rows[:200]]
    mlservers = [name for name in ("mlserver0", "mlserver2") if name in servers]
    answers = {}
    for name in mlservers:
        status, answer = post(servers[name][1], MLSERVER_PATH, v2_bodies[0].encode())
        assert status == 200, answer[:500]
        answers[name] = json.loads(answer)["outputs"][0]["data"]
    port = servers["seldon2"][1]
    sent = 0
    while sent < 100 or (len(worker_pids(workdir / "request-log-seldon2")) < 2 and sent < 2000):
        assert post(port, SELDON_PATH, bodies[sent % len(bodies)].encode())[0] == 200
        sent += 1
    pids = worker_pids(workdir / "request-log-seldon2")  # both workers, each after its first requests
    batch_body = json.dumps({"jsonData": [seldon_row(row) for row in rows[:BATCH_ROWS]]}).encode()
    for _ in pids:  # a 1000-row request's arrays on each worker are part of the warm-up
        http_batch(port, batch_body, 1)
    rss_first = {pid: rss_mb(pid) for pid in pids}
    rounds = []
    for _ in range(ROUNDS):
        one = {"floor": floor.ask(mode="one-row", seconds=SECONDS)["requests_per_s"]}
        for name in ("seldon2", "noop2", "guarded2", "seldon1", *mlservers):
            path, sample = (
                (MLSERVER_PATH, v2_bodies) if name.startswith("mlserver") else (SELDON_PATH, bodies)
            )
            one[name] = wrk(servers[name][1], path, sample, workdir, SECONDS)
        one["floor_batch"] = floor.ask(mode="batch", repeats=5)["rows_per_s"]
        one["seldon_batch"] = http_batch(port, batch_body, 5)
        sent += one["seldon2"]["requests"] + 6
        rounds.append(one)
    while sent < 10_000:
        sent += wrk(port, SELDON_PATH, bodies, workdir, 5)["requests"]
    rss_after = {pid: rss_mb(pid) for pid in pids}
    return {
        "rounds": rounds,
        "mlservers": mlservers,
        "requests_before_rss": sent,
        "rss_mb_after_100": rss_first,
        "rss_mb_after_10k": rss_after,
        "rss_growth": max(rss_after[p] / rss_first[p] for p in pids),
        "mlserver_first_answer": answers,
    }


class Rounds:
    """Medians over the alternating rounds: throughput, per-round ratios, any per-round figure."""

    def __init__(self, rounds: list[dict]):
        self.rounds = rounds

    def rps(self, name: str) -> float:
        return statistics.median([x[name]["requests_per_s"] for x in self.rounds])

    def ratio(self, top: str, bottom: str) -> float:
        return statistics.median(
            [x[top]["requests_per_s"] / x[bottom]["requests_per_s"] for x in self.rounds]
        )

    def of(self, pick) -> float:
        return statistics.median([pick(x) for x in self.rounds])


def throughput_lines(r: dict, m: Rounds) -> list[tuple]:
    """(measure, value, target, operator, detail) for the HTTP side."""
    best_ml = max(r["mlservers"], key=m.rps)
    best_ml_setting = f"parallel_workers {best_ml.removeprefix('mlserver')}"
    return [
        (
            "one-row throughput vs no-op model, 2 workers",
            m.ratio("seldon2", "noop2"),
            TARGETS["vs_noop"],
            ">=",
            f"{m.rps('seldon2'):.0f} vs {m.rps('noop2'):.0f} req/s (same wrapper)",
        ),
        (
            "  the same vs no-op behind the same guard",
            m.ratio("seldon2", "guarded2"),
            0.0,
            ">=",
            f"{m.rps('seldon2'):.0f} vs {m.rps('guarded2'):.0f} req/s; the guard itself: "
            f"{m.ratio('guarded2', 'noop2'):.2f} of the bare no-op",
        ),
        (
            "one-row throughput vs MLServer, 1 process each",
            m.ratio("seldon1", "mlserver0"),
            TARGETS["vs_mlserver_equal"],
            ">=",
            f"{m.rps('seldon1'):.0f} vs {m.rps('mlserver0'):.0f} req/s (1 worker; parallel_workers 0)",
        ),
        (
            "one-row throughput vs MLServer, each at best",
            m.ratio("seldon2", best_ml),
            1.0,
            ">=",
            f"{m.rps('seldon2'):.0f} vs {m.rps(best_ml):.0f} req/s (2 workers; {best_ml_setting})",
        ),
        (
            "p99 latency, 8 connections, 2 workers (ms)",
            m.of(lambda x: x["seldon2"]["p99_ms"]),
            TARGETS["p99_ms"],
            "<=",
            f"p50 {m.of(lambda x: x['seldon2']['p50_ms']):.1f} ms; no-op p99 "
            f"{m.of(lambda x: x['noop2']['p99_ms']):.1f} ms; MLServer ({best_ml_setting}) p99 "
            f"{m.of(lambda x: x[best_ml]['p99_ms']):.1f} ms",
        ),
        (
            "1000-row request rows/s vs in-process",
            m.of(lambda x: x["seldon_batch"] / x["floor_batch"]),
            TARGETS["batch_vs_floor"],
            ">=",
            f"{m.of(lambda x: x['seldon_batch']):.0f} vs {m.of(lambda x: x['floor_batch']):.0f} rows/s",
        ),
        (
            "one-row in-process throughput, 2 processes",
            m.of(lambda x: x["seldon2"]["requests_per_s"] / x["floor"]),
            0.0,
            ">=",
            f"served {m.rps('seldon2'):.0f} vs floor {m.of(lambda x: x['floor']):.0f} req/s",
        ),
    ]


def in_process_lines(r: dict) -> list[tuple]:
    """The same rows for what is measured in process: latency, metrics cost, worker memory."""
    latency, cost = r["latency"], r["metrics_cost"]
    return [
        (
            "in-process one-row predict, median (ms)",
            latency["median_ms"],
            TARGETS["floor_ms"],
            "<=",
            f"p99 {latency['p99_ms']:.2f} ms; validate -> encode -> compiled trees -> threshold",
        ),
        (
            "model metrics per request (us)",
            cost["ours_us"],
            TARGETS["metrics_us"],
            "<=",
            f"prometheus-client multiprocess; Seldon's store: {cost['seldon_empty_update_us']:.0f} us "
            f"per (skipped) empty update, {cost['seldon_update_27_us']:.0f} us with 27 entries",
        ),
        (
            "worker RSS after 10k requests / after warm-up",
            r["rss_growth"],
            TARGETS["rss_growth"],
            "<=",
            f"{sorted(r['rss_mb_after_100'].values())} -> {sorted(r['rss_mb_after_10k'].values())} MB"
            f" ({r['requests_before_rss']} requests)",
        ),
    ]


def report(r: dict) -> None:
    lines = in_process_lines(r)[:1] + throughput_lines(r, Rounds(r["rounds"])) + in_process_lines(r)[1:]
    print(f"\n{ROUNDS} rounds of {SECONDS:.0f} s; load average {os.getloadavg()[0]:.1f}")
    print(f"{'measure':48} {'value':>8} {'target':>8}  ok   detail")
    for name, value, target, op, detail in lines:
        ok = "" if not target else ("yes" if (value >= target if op == ">=" else value <= target) else "NO")
        shown = f"{op}{target:<7g}" if target else " " * 8
        print(f"{name:48} {value:8.2f} {shown} {ok:4} {detail}")
    crossover = r["crossover"]
    print(
        "\ncompiled trees vs vectorised predict_proba, ms per request by rows: "
        + ", ".join(f"{n}: {c:.2f}/{v:.2f}" for n, c, v in crossover["table"])
        + f"\n  -> the compiled path is faster up to {crossover['faster_up_to']} rows "
        f"(the predictor switches above {crossover['configured']})"
    )
    print(
        "\nin process, ms per request (median): "
        + "; ".join(
            f"{label.replace('_', ' ')}: predict {o['predict_ms']:.3f}, decode {o['decode_ms']:.3f}, "
            f"request log {o['request_log_ms']:.3f}, answer {o['answer_ms']:.3f}"
            for label, o in r["overheads"].items()
        )
    )
    failures = sum(x[k]["failed"] for x in r["rounds"] for k in x if isinstance(x[k], dict))
    print(f"failed requests (non-2xx or socket errors, all servers): {failures}")
    print("\n" + json.dumps(r, default=str))


if __name__ == "__main__":
    raise SystemExit(main())
