"""Constructed live traffic with a shadow challenger, logged by the serving side's own writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from contract.request_log import RequestLog, request_json


def log_shadow_traffic(
    directory: Path,
    challenger_noise: float,
    *,
    n: int,
    seed: int,
    model: str = "m",
    versions: tuple[str, str] = ("3", "4"),
    truth_for: int | None = None,
) -> None:
    """n one-row requests to `model`, scored by the champion and the shadow challenger
    (`versions`): both see the same truth through noise of their own (the champion's 1.0), and
    the truth comes back as feedback for the first `truth_for` requests (all by default)."""
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.3
    signal = np.where(truth, 1.0, -1.0)
    champion = 1 / (1 + np.exp(-(signal + rng.normal(0, 1.0, n))))
    challenger = 1 / (1 + np.exp(-(signal + rng.normal(0, challenger_noise, n))))
    log = RequestLog(directory, max_seconds=0)
    body = request_json({"jsonData": {"x": "a"}}, None)
    for i in range(n):
        log.write(f"q{i}", model, versions[0], body, [float(champion[i])], [int(champion[i] > 0.35)], {})
        log.write_shadow(f"q{i}", versions[1], [float(challenger[i])])
    for i in range(n if truth_for is None else truth_for):
        log.write_feedback(f"q{i}", [int(truth[i])])
    log.close()
