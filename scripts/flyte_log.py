"""What a local execution's log says and flytekit 1.16.31 has no public way to ask: where each
task's deck went (a local run writes every deck to a random directory, in
`flytekit.deck.deck._output_deck`, and names it only in the line "<task> task creates flyte deck
html to file://<path>"), and which task results the local cache gave ("Checking cache for task
named <task> ..." then "Cache hit" or "Cache miss", as a task executes locally). This module is the
one place that reads those lines, from the logger here or from pyflyte's stderr;
tests/unit/operator/test_flyte_log.py pins them against the installed flytekit."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

DECK_LINE = re.compile(r"(\w+) task creates flyte deck html to file://(\S+)")
NOT_A_TASK = "local"  # the workflow's own deck in a local run
CACHE_CHECK = re.compile(r"Checking cache for task named (\S+), cache version.*?Cache (hit|miss)", re.S)
# pyflyte's environment for a log these patterns read: plain text at INFO, no rich tracebacks
PLAIN_INFO_LOGS = {
    "FLYTE_SDK_LOGGING_LEVEL": "20",
    "FLYTE_SDK_LOGGING_FORMAT": "text",
    "FLYTE_SDK_RICH_TRACEBACKS": "0",
}


def deck_paths(text: str) -> dict[str, str]:
    """{task's short name: deck file} of every deck line in `text` (pyflyte's stderr at INFO)."""
    return {task: path for task, path in DECK_LINE.findall(text) if task != NOT_A_TASK}


def cache_outcomes(text: str) -> list[tuple[str, str]]:
    """(task name, "hit" | "miss") of each cached task's local execution in `text`, in order."""
    return CACHE_CHECK.findall(text)


class DeckLines(logging.Handler):
    """Collects the deck lines flytekit logs while it is attached (`found`: task -> file)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.found: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.found.update(deck_paths(record.getMessage()))


def _not_deck_noise(record: logging.LogRecord) -> bool:
    # flytekitplugins-pandera publishes a validation report from every task, and warns in each
    # task without a deck of its own: about ninety lines of noise per replay, nothing lost.
    return "enable_deck is currently set to False" not in record.getMessage()


@contextmanager
def written_decks() -> Iterator[DeckLines]:
    """Deck files written while the block runs, in this process. flytekit logs their paths at
    INFO; its own handlers keep their level, so the console shows no more than before."""
    flytekit_logger = logging.getLogger("flytekit")
    level = flytekit_logger.level
    shown = [(h, h.level) for h in flytekit_logger.handlers]
    for handler, old in shown:
        handler.setLevel(max(old, level or logging.WARNING))
        handler.addFilter(_not_deck_noise)
    capture = DeckLines()
    flytekit_logger.addHandler(capture)
    flytekit_logger.setLevel(logging.INFO)
    try:
        yield capture
    finally:
        flytekit_logger.removeHandler(capture)
        flytekit_logger.setLevel(level)
        for handler, old in shown:
            handler.setLevel(old)
            handler.removeFilter(_not_deck_noise)
