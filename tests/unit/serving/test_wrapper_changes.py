"""Every change to the stock wrapper is listed, with its reason, in seldon/wrapper_changes.py's
docstring, and each entry names the tests that pin it."""

from __future__ import annotations

import re
from pathlib import Path

import seldon.wrapper_changes as wrapper_changes

TESTS = Path(__file__).resolve().parents[2]


def _entries() -> list[str]:
    return re.split(r"\n\s*(?=\d+\. )", wrapper_changes.__doc__ or "")[1:]


def test_every_listed_change_names_tests_that_exist():
    entries = _entries()
    assert len(entries) >= 9, entries
    for entry in entries:
        named = re.findall(r"\[([^\]]+)\]", entry)
        assert named, f"no test named for: {entry[:80]}"
        for module in named[-1].split(","):
            found = list(TESTS.rglob(f"{module.strip()}.py"))
            assert found, f"{module.strip()} (named for: {entry[:60]}) is not a test module"


def test_the_changes_are_applied_by_the_entry_point_only():
    serve = (Path(wrapper_changes.__file__).with_name("serve.py")).read_text()
    assert "wrapper_changes.apply(" in serve
    model = (Path(wrapper_changes.__file__).with_name("model.py")).read_text()
    assert "wrapper_changes" not in model.split('"""', 2)[2]  # the model class does not import them


def test_a_stopping_worker_answers_the_backlog_for_its_budget_only():
    """Steady traffic keeps the backlog full: the worker stops answering it once its budget is
    spent, and stops at once when the backlog is empty."""
    import os
    import time

    from gunicorn.workers.sync import SyncWorker

    class Listener:
        def setblocking(self, flag):
            pass

    class Worker(SyncWorker):
        def __init__(self, backlog: int | None):
            self.pid, self.sockets, self.backlog, self.answered = os.getpid(), [Listener()], backlog, 0

        def accept(self, listener):
            if self.backlog == 0:
                raise BlockingIOError  # EAGAIN
            if self.backlog is not None:
                self.backlog -= 1
            time.sleep(0.01)  # a request answered
            self.answered += 1

    endless = Worker(backlog=None)
    started = time.monotonic()
    answered = wrapper_changes.finish_backlog(endless, budget_seconds=0.3)
    assert 0.3 <= time.monotonic() - started < 1.0 and answered == endless.answered > 5
    assert wrapper_changes.finish_backlog(Worker(backlog=3), budget_seconds=30) == 3
