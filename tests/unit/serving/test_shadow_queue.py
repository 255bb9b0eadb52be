"""The shadow challenger's queue (`scoring.shadow`): requests wait until a batch is due by rows or
by age, each request's scores are those the challenger gives it alone, and a request it cannot
score, a request too large or a swap in between costs only what it must (counted)."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from contract.bundle import Metadata, load_bundle
from core.bundle import build_reference, build_schema, write_bundle
from core.model import Hyperparameters, build_pipeline, predict_scores
from scoring.predictor import Predictor
from scoring.shadow import ShadowQueue
from tests.support.tables import feature_table
from usecases.flights.schemas import FEATURES, LABEL


def _predictor(directory, version: str, seed: int) -> Predictor:
    train = feature_table(600, seed)
    hp = Hyperparameters(max_iter=15, max_leaf_nodes=15, min_samples_leaf=20, early_stopping=False)
    model = build_pipeline(hp).fit(train[FEATURES], train[LABEL].to_numpy())
    schema = dataclasses.replace(build_schema(train, hp.threshold), online_store=None)
    reference = build_reference(train, predict_scores(model, train), float(train[LABEL].mean()))
    write_bundle(directory, model, schema, reference, Metadata(version=version))
    return Predictor(load_bundle(directory))


@pytest.fixture(scope="module")
def challengers(tmp_path_factory) -> tuple[Predictor, Predictor]:
    return (
        _predictor(tmp_path_factory.mktemp("v2"), "2", 1),
        _predictor(tmp_path_factory.mktemp("v3"), "3", 2),
    )


@pytest.fixture(scope="module")
def requests(challengers):
    """Checked requests of 1 to 3 rows."""
    frame = feature_table(120, 5)[FEATURES]
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    sizes, start, checked = [1, 2, 3] * 20, 0, []
    for size in sizes:
        checked.append(challengers[0].check({"jsonData": records[start : start + size]}))
        start += size
    return checked


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, list[float]]] = []
        self.counts: dict[str, int] = {}

    def write(self, request_id: str, version: str, probability: list[float]) -> None:
        self.lines.append((request_id, version, probability))

    def count(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1


def _queue(recorder: Recorder, **options) -> ShadowQueue:
    options = {"max_rows": 8, "batch_rows": 10, "batch_seconds": 0, **options}
    return ShadowQueue(recorder.write, recorder.count, **options)


def test_a_batch_is_due_at_its_rows_and_each_request_gets_its_own_scores(challengers, requests):
    challenger, recorder = challengers[0], Recorder()
    queue = _queue(recorder)
    due = [queue.add(challenger, f"r{i}", checked) for i, checked in enumerate(requests[:6])]
    assert due == [False, False, False, False, False, True]  # 1+2+3+1+2+3 = 12 rows >= 10
    assert recorder.lines == []  # nothing scored before the flush
    queue.flush()
    assert [line[0] for line in recorder.lines] == [f"r{i}" for i in range(6)]
    for (_, version, probability), checked in zip(recorder.lines, requests, strict=False):
        assert version == "2"
        assert probability == challenger.score(checked.columns).tolist()  # exactly: alone
    assert recorder.counts == {"scored": 6}
    queue.flush()  # an empty queue writes nothing
    assert len(recorder.lines) == 6


def test_the_oldest_request_is_scored_after_batch_seconds_without_a_flush(challengers, requests):
    recorder = Recorder()
    queue = _queue(recorder, batch_seconds=0.2)
    assert queue.add(challengers[0], "alone", requests[0]) is False
    deadline = time.monotonic() + 5
    while not recorder.lines and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [line[0] for line in recorder.lines] == ["alone"]
    queue.close()


def test_a_request_above_max_rows_is_counted_not_queued(challengers):
    recorder = Recorder()
    queue = _queue(recorder, max_rows=2)
    frame = feature_table(3, 7)[FEATURES]
    checked = challengers[0].check({"jsonData": frame.astype(object).to_dict("records")})
    assert queue.add(challengers[0], "large", checked) is False
    queue.flush()
    assert recorder.lines == [] and recorder.counts == {"too_many_rows": 1}


def test_a_request_the_challenger_cannot_score_costs_only_its_own_scores(challengers, requests):
    challenger, recorder = challengers[0], Recorder()
    queue = _queue(recorder)
    broken = dataclasses.replace(
        requests[1], columns={k: v for k, v in requests[1].columns.items() if k != "distance"}
    )
    for request_id, checked in (("a", requests[0]), ("broken", broken), ("c", requests[2])):
        queue.add(challenger, request_id, checked)
    queue.flush()
    assert [line[0] for line in recorder.lines] == ["a", "c"]
    assert recorder.lines[1][2] == challenger.score(requests[2].columns).tolist()
    assert recorder.counts == {"scored": 2, "failed": 1}


def test_requests_queued_across_a_swap_are_scored_by_the_challenger_they_were_queued_for(
    challengers, requests
):
    old, new = challengers
    recorder = Recorder()
    queue = _queue(recorder, batch_rows=100)
    queue.add(old, "before", requests[0])
    queue.add(new, "after", requests[0])
    queue.close()  # what SIGTERM runs (atexit): the queue is scored before the log closes
    assert [(line[0], line[1]) for line in recorder.lines] == [("before", "2"), ("after", "3")]
    assert recorder.lines[0][2] != recorder.lines[1][2]
    assert np.isclose(recorder.lines[1][2][0], new.score(requests[0].columns)[0], rtol=0, atol=0)
