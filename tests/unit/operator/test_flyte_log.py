"""Finding a local execution's deck files and cache hits rests on flytekit's log lines (no public
API says either): these tests run real tasks and fail when the installed flytekit stops writing
those lines, or writes them in another shape."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from flytekit import Deck, workflow

from scripts.flyte_log import cache_outcomes, deck_paths, written_decks
from tasks.util import pipeline_task


@pipeline_task(cache=True, deck=True)
def first_deck_task(n: int) -> int:
    Deck("First", f"<p>{n} in</p>")
    return n + 1


@pipeline_task(cache=True, deck=True)
def second_deck_task(n: int) -> int:
    Deck("Second", f"<p>{n} in</p>")
    return n * 2


@workflow
def two_decks(n: int) -> int:
    return second_deck_task(n=first_deck_task(n=n))


def test_each_task_of_a_local_run_names_the_deck_file_it_wrote(tmp_path, monkeypatch):
    monkeypatch.setenv("FLYTE_LOCAL_CACHE_ENABLED", "false")
    with written_decks() as decks:
        assert two_decks(n=3) == 8
    assert set(decks.found) == {"first_deck_task", "second_deck_task"}
    assert "<p>3 in</p>" in Path(decks.found["first_deck_task"]).read_text()
    assert "<p>4 in</p>" in Path(decks.found["second_deck_task"]).read_text()


def test_the_capture_leaves_flytekits_logger_as_it_was():
    flytekit_logger = logging.getLogger("flytekit")
    before = (
        flytekit_logger.level,
        list(flytekit_logger.handlers),
        [h.level for h in flytekit_logger.handlers],
    )
    with written_decks():
        pass
    after = (
        flytekit_logger.level,
        list(flytekit_logger.handlers),
        [h.level for h in flytekit_logger.handlers],
    )
    assert after == before


def test_pyflytes_stderr_lines_give_each_tasks_deck_and_leave_the_workflows_out():
    stderr = (
        "INFO evaluate_model task creates flyte deck html to file:///tmp/a/deck.html\n"
        "INFO local task creates flyte deck html to file:///tmp/b/deck.html\n"
        "Cache hit\n"
    )
    assert deck_paths(stderr) == {"evaluate_model": "/tmp/a/deck.html"}


class _LogText(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_cached_task_logs_a_miss_then_a_hit():
    fresh = uuid.uuid4().int % 10**9  # inputs no earlier run cached
    flytekit_logger, text = logging.getLogger("flytekit"), _LogText()
    level = flytekit_logger.level
    flytekit_logger.addHandler(text)
    flytekit_logger.setLevel(logging.INFO)
    try:
        assert first_deck_task(n=fresh) == fresh + 1
        assert first_deck_task(n=fresh) == fresh + 1
    finally:
        flytekit_logger.removeHandler(text)
        flytekit_logger.setLevel(level)
    outcomes = [(name.rpartition(".")[2], outcome) for name, outcome in cache_outcomes("\n".join(text.lines))]
    assert outcomes == [("first_deck_task", "miss"), ("first_deck_task", "hit")]
