"""Where a local execution wrote each task's deck. flytekit 1.16.31 has no public way to ask: a
local run writes every deck to a random directory (`flytekit.deck.deck._output_deck`) and says
where only in a log line, "<task> task creates flyte deck html to file://<path>". This module is
the one place that reads that line (from the logger here, from pyflyte's stderr in `make demo`);
tests/unit/operator/test_flyte_decks.py pins it against the installed flytekit."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

DECK_LINE = re.compile(r"(\w+) task creates flyte deck html to file://(\S+)")
NOT_A_TASK = "local"  # the workflow's own deck in a local run


def deck_paths(text: str) -> dict[str, str]:
    """{task's short name: deck file} of every deck line in `text` (pyflyte's stderr at INFO)."""
    return {task: path for task, path in DECK_LINE.findall(text) if task != NOT_A_TASK}


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
