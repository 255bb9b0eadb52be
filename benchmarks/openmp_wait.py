"""What OpenMP's wait policy costs a fit on shared cores: active (spinning, libgomp's default
when threads are few) against passive (sleeping), side by side in one run.

    python benchmarks/openmp_wait.py [--busy 4] [--repeats 3]

The fit is the project's classifier settings on synthetic rows (30,000 x 20, 60 trees, no early
stopping), each run in a fresh interpreter so that libgomp reads the policy at start. It runs
on the machine as found (its load average printed), then beside `--busy` more processes that
spin on the CPU (what other test processes, a benchmark or a neighbour's job do to a shared
2-core machine; `--busy 0` skips it). Prints the median wall and CPU seconds of each policy and
the ratios.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys

FIT = """
import json, time, numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
rng = np.random.default_rng(0)
X = rng.normal(size=(30000, 20)); y = (X[:, 0] + rng.normal(size=30000) > 0).astype(int)
wall, cpu = time.perf_counter(), time.process_time()
HistGradientBoostingClassifier(max_iter=60, early_stopping=False, max_leaf_nodes=63).fit(X, y)
print(json.dumps([time.perf_counter() - wall, time.process_time() - cpu]))
"""


def _spin() -> None:
    while True:
        pass


def fit_seconds(policy: str) -> tuple[float, float]:
    env = {**os.environ, "OMP_WAIT_POLICY": policy}
    env.pop("OMP_NUM_THREADS", None)
    out = subprocess.run([sys.executable, "-c", FIT], env=env, capture_output=True, text=True, check=True)
    wall, cpu = json.loads(out.stdout)
    return wall, cpu


def measure(repeats: int) -> dict[str, tuple[float, float]]:
    runs: dict[str, list[tuple[float, float]]] = {"active": [], "passive": []}
    for _ in range(repeats):  # alternate, so both see the same machine
        for policy in runs:
            runs[policy].append(fit_seconds(policy))
    return {
        p: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r)) for p, r in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=4, help="spinning processes beside the fit")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'machine':22} {'policy':8} {'wall s':>7} {'CPU s':>6}   passive/active: wall, CPU")
    phases = [(f"as found, load {os.getloadavg()[0]:.1f}", 0)]
    if args.busy:
        phases.append((f"+{args.busy} spinning processes", args.busy))
    for label, busy in phases:
        spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(busy)]
        for process in spinners:
            process.start()
        try:
            figures = measure(args.repeats)
        finally:
            for process in spinners:
                process.terminate()
        (aw, ac), (pw, pc) = figures["active"], figures["passive"]
        print(f"{label:22} {'active':8} {aw:7.2f} {ac:6.2f}")
        print(f"{label:22} {'passive':8} {pw:7.2f} {pc:6.2f}   {pw / aw:.2f}x, {pc / ac:.2f}x")


if __name__ == "__main__":
    main()
