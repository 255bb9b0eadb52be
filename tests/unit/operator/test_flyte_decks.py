"""Finding a local execution's deck files rests on a log line of flytekit's (no public API says
where a local run wrote a deck): these tests run real deck tasks and fail when the installed
flytekit stops writing that line, or writes it in another shape."""

from __future__ import annotations

import logging
from pathlib import Path

from flytekit import Deck, workflow

from scripts.flyte_decks import deck_paths, written_decks
from tasks.util import deck_task


@deck_task("1")
def first_deck_task(n: int) -> int:
    Deck("First", f"<p>{n} in</p>")
    return n + 1


@deck_task("1")
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
