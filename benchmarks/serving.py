"""Serving benchmark: the Seldon server against the in-process floor and MLServer, side by side.

    make bench-serving        (or: PYTHONPATH=. .venv/bin/python benchmarks/serving.py)

One run builds a bundle with the core functions, starts both servers and the in-process floor,
then measures in ROUNDS alternating rounds (the machine's load drifts; each ratio is the median
of its per-round ratios):
  1. one-row requests, 2 workers, 8 concurrent connections (wrk): throughput and p99 of
     - the in-process floor: 2 processes calling the same predict path without HTTP,
     - the Seldon server (seldon-core-microservice, request log and metrics on),
     - MLServer 1.7.1's sklearn runtime on the same model (joblib), parallel_workers 0;
  2. a 1000-row request: rows/s through HTTP vs the same path in process;
then worker RSS after 10,000 requests vs after the first 100, and the per-request metrics cost
(our buffer, and Seldon's shared-dict update).
Nulls in the sampled rows are replaced by valid values so that every server (MLServer's JSON
codec has no null for FP64) scores the very same rows.
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
SERVING_PY = REPO / ".venv-serving" / "bin" / "python"
MLSERVER_BIN = REPO / ".venv-mlserver" / "bin"
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
CONNECTIONS = 8
WORKERS = 2
BATCH_ROWS = 1000
SELDON_PATH = "/api/v1.0/predictions"
MLSERVER_PATH = "/v2/models/flights/infer"
TARGETS = {
    "vs_floor": 0.70,
    "vs_mlserver": 1.0,
    "p99_ms": 25.0,
    "batch_vs_floor": 0.70,
    "rss_growth": 1.10,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build(workdir: Path) -> tuple[Path, list[dict]]:
    from contract.bundle import Metadata
    from core.bundle import build_reference, build_schema, write_bundle
    from core.features import build_features, split_by_time
    from core.model import Hyperparameters, fit, predict_scores
    from core.schemas import FEATURES
    from core.source import load_window
    from seldon.pointer import version_dir, write_pointer

    table = build_features(load_window("", datetime(2013, 5, 1), datetime(2013, 8, 1)))
    train, later = split_by_time(table, datetime(2013, 7, 1))
    hp = Hyperparameters()
    model = fit(train, hp)
    schema = build_schema(train, hp.threshold)
    reference = build_reference(train, predict_scores(model, train), train.late.mean())
    root = workdir / "model-root"
    write_bundle(
        version_dir(root, "1"),
        model,
        schema,
        reference,
        Metadata(version="1", run_id="bench"),
    )
    write_pointer(root, "1")
    rows = json.loads(later[FEATURES].sample(BATCH_ROWS, random_state=0).to_json(orient="records"))
    fill = {f.name: f.min or 0.0 for f in schema.features if f.kind == "number"}
    rows = [{k: (fill[k] if v is None else v) for k, v in row.items()} for row in rows]
    return root, rows


def serving_env(**extra: str) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **extra}


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


def wait_http(port: int, path: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
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


def wrk(port: int, path: str, bodies: list[str], workdir: Path, seconds: float) -> dict:
    script = workdir / "bodies.lua"
    items = ",\n".join(f"[==[{b}]==]" for b in bodies)
    script.write_text(
        f"local bodies = {{\n{items}\n}}\nlocal i = 0\n"
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        "request = function()\n  i = i % #bodies + 1\n"
        "  return wrk.format(nil, nil, nil, bodies[i])\nend\n"
    )
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{int(seconds)}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
        ],
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
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(pid)


def worker_pids(metrics_port: int) -> list[int]:
    conn = http.client.HTTPConnection("127.0.0.1", metrics_port, timeout=5)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    return sorted({int(p) for p in re.findall(r'worker_id="(\d+)"', text)})


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


def start_seldon(root: Path, workdir: Path) -> tuple[subprocess.Popen, int, int]:
    http_port, metrics_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            str(SERVING_PY),
            "-m",
            "seldon.serve",
            "seldon.model.FlightsLateModel",
            "--workers",
            str(WORKERS),
            "--grpc-workers",
            "0",
            "--http-port",
            str(http_port),
            "--metrics-port",
            str(metrics_port),
        ],
        cwd=REPO,
        stdout=open(workdir / "seldon.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=serving_env(
            MODEL_ROOT=str(root), SERVING_BIND_HOST="127.0.0.1", REQUEST_LOG_DIR=str(workdir / "request-log")
        ),
    )
    wait_http(http_port, "/health/status")
    return process, http_port, metrics_port


def start_mlserver(root: Path, workdir: Path) -> tuple[subprocess.Popen, int]:
    model_dir = workdir / "mlserver" / "flights"
    model_dir.mkdir(parents=True)
    subprocess.run(
        [
            str(MLSERVER_BIN / "python"),
            "-c",
            "import sys, joblib; from contract.bundle import load_model; "
            "joblib.dump(load_model(sys.argv[1]), sys.argv[2])",
            str(root / "versions" / "1" / "model.skops"),
            str(model_dir / "model.joblib"),
        ],
        env=serving_env(),
        check=True,
    )
    http_port = free_port()
    (workdir / "mlserver" / "settings.json").write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "http_port": http_port,
                "grpc_port": free_port(),
                "metrics_port": free_port(),
                "parallel_workers": 0,
            }
        )
    )
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
        [str(MLSERVER_BIN / "mlserver"), "start", str(workdir / "mlserver")],
        cwd=workdir,
        stdout=open(workdir / "mlserver.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=serving_env(PYTHONPATH=""),
    )
    wait_http(http_port, "/v2/models/flights/ready")
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
    return {
        "parameters": {"content_type": "pd"},
        "inputs": inputs,
        "outputs": [{"name": "predict_proba"}],
    }


def main() -> int:
    for tool in (SERVING_PY, MLSERVER_BIN / "mlserver"):
        if not tool.exists():
            sys.exit(f"{tool} missing: run `make setup-serving setup-mlserver`")
    if not shutil.which("wrk"):
        sys.exit("wrk missing: run `make setup-wrk`")
    workdir = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    processes: list[subprocess.Popen] = []
    try:
        root, rows = build(workdir)
        rows_file = workdir / "rows.json"
        rows_file.write_text(json.dumps(rows))
        floor = Floor(root / "versions" / "1", rows_file)
        seldon, port, metrics_port = start_seldon(root, workdir)
        mlserver, ml_port = start_mlserver(root, workdir)
        processes = [floor.process, seldon, mlserver]
        results = measure(floor, port, metrics_port, ml_port, rows, workdir)
        results["metrics_cost"] = floor.ask(mode="metrics", repeats=2000)
        floor.close()
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    return 0


def measure(floor: Floor, port: int, metrics_port: int, ml_port: int, rows, workdir) -> dict:
    bodies = [json.dumps({"jsonData": row}) for row in rows[:200]]
    v2_bodies = [json.dumps(v2_request(row)) for row in rows[:200]]
    status, answer = post(ml_port, MLSERVER_PATH, v2_bodies[0].encode())
    assert status == 200, answer[:500]
    sent = 0
    for body in bodies[:100]:
        assert post(port, SELDON_PATH, body.encode())[0] == 200
        sent += 1
    pids = worker_pids(metrics_port)
    rss_first = {pid: rss_mb(pid) for pid in pids}
    batch_body = json.dumps({"jsonData": rows[:BATCH_ROWS]}).encode()
    http_batch(port, batch_body, 1)
    rounds = []
    for _ in range(ROUNDS):
        one = {
            "floor": floor.ask(mode="one-row", seconds=SECONDS)["requests_per_s"],
            "seldon": wrk(port, SELDON_PATH, bodies, workdir, SECONDS),
            "mlserver": wrk(ml_port, MLSERVER_PATH, v2_bodies, workdir, SECONDS),
            "floor_batch": floor.ask(mode="batch", repeats=5)["rows_per_s"],
            "seldon_batch": http_batch(port, batch_body, 5),
        }
        sent += one["seldon"]["requests"] + 6
        rounds.append(one)
    while sent < 10_000:
        sent += wrk(port, SELDON_PATH, bodies, workdir, 5)["requests"]
    rss_after = {pid: rss_mb(pid) for pid in pids}
    return {
        "rounds": rounds,
        "requests_before_rss": sent,
        "rss_mb_after_100": rss_first,
        "rss_mb_after_10k": rss_after,
        "rss_growth": max(rss_after[p] / rss_first[p] for p in pids),
        "mlserver_first_answer": json.loads(answer)["outputs"][0]["data"],
    }


def report(r: dict) -> None:
    rounds = r["rounds"]

    def median(values):
        return statistics.median(values)

    seldon_rps = median([x["seldon"]["requests_per_s"] for x in rounds])
    floor_rps = median([x["floor"] for x in rounds])
    ml_rps = median([x["mlserver"]["requests_per_s"] for x in rounds])
    lines = [
        (
            "one-row throughput vs in-process floor",
            median([x["seldon"]["requests_per_s"] / x["floor"] for x in rounds]),
            TARGETS["vs_floor"],
            ">=",
            f"{seldon_rps:.0f} vs {floor_rps:.0f} req/s",
        ),
        (
            "one-row throughput vs MLServer 1.7.1",
            median([x["seldon"]["requests_per_s"] / x["mlserver"]["requests_per_s"] for x in rounds]),
            TARGETS["vs_mlserver"],
            ">=",
            f"{seldon_rps:.0f} vs {ml_rps:.0f} req/s",
        ),
        (
            "p99 latency at 8 connections (ms)",
            median([x["seldon"]["p99_ms"] for x in rounds]),
            TARGETS["p99_ms"],
            "<=",
            f"p50 {median([x['seldon']['p50_ms'] for x in rounds]):.1f} ms; MLServer p99 "
            f"{median([x['mlserver']['p99_ms'] for x in rounds]):.1f} ms",
        ),
        (
            "1000-row batch rows/s vs in-process",
            median([x["seldon_batch"] / x["floor_batch"] for x in rounds]),
            TARGETS["batch_vs_floor"],
            ">=",
            f"{median([x['seldon_batch'] for x in rounds]):.0f} vs "
            f"{median([x['floor_batch'] for x in rounds]):.0f} rows/s",
        ),
        (
            "worker RSS after 10k / after 100 requests",
            r["rss_growth"],
            TARGETS["rss_growth"],
            "<=",
            f"{sorted(r['rss_mb_after_100'].values())} -> {sorted(r['rss_mb_after_10k'].values())} MB"
            f" ({r['requests_before_rss']} requests)",
        ),
    ]
    print(f"\n{ROUNDS} rounds of {SECONDS:.0f} s; load average {os.getloadavg()[0]:.1f}")
    print(f"{'measure':44} {'value':>8} {'target':>8}  ok   detail")
    for name, value, target, op, detail in lines:
        ok = value >= target if op == ">=" else value <= target
        print(f"{name:44} {value:8.2f} {op}{target:<7} {'yes' if ok else 'NO ':4} {detail}")
    cost = r["metrics_cost"]
    print(
        f"\nper-request metrics: our buffer {cost['buffer_us']:.0f} us; "
        "Seldon's shared-dict update "
        f"{cost['seldon_update_no_custom_metrics_us']:.0f} us with no custom metrics, "
        f"{cost['seldon_update_ours_us']:.0f} us with ours ({cost['metrics_per_request']} entries)"
    )
    failures = sum(x[k]["non_2xx"] + x[k]["socket_errors"] for x in rounds for k in ("seldon", "mlserver"))
    print(f"failed requests (non-2xx or socket errors, both servers): {failures}")
    print("\n" + json.dumps(r, default=str))


if __name__ == "__main__":
    raise SystemExit(main())
