"""Progress lines of long local runs: one line as each task starts, one as it ends with its time,
cache hits and failures said as such, the error itself untouched."""

from __future__ import annotations

import importlib.util
import io
import os
import re
import subprocess
import sys

import pytest
from flytekit.core.base_task import Task

from scripts.progress import PROGRESS_FD_ENV, task_progress
from tests.support.system_tools import REPO

TINY = REPO / "tests" / "data" / "operator" / "tiny_workflow.py"
DONE = re.compile(r"^  ✓ (\S+)  (\d+\.\d) s( \(cached\))?$")


def tiny_module():
    spec = importlib.util.spec_from_file_location("tiny_workflow", TINY)
    module = importlib.util.module_from_spec(spec)
    sys.modules["tiny_workflow"] = module  # flytekit names tasks after their module
    spec.loader.exec_module(module)
    return module


def test_each_task_has_a_start_and_an_end_line_and_cache_hits_say_so():
    tiny = tiny_module()
    first, second = io.StringIO(), io.StringIO()
    with task_progress(first):
        assert tiny.tiny(x=5) == 11
    with task_progress(second):
        assert tiny.tiny(x=5) == 11
    lines = first.getvalue().splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["→", "tiny_workflow.double"],
        ["✓", "tiny_workflow.double"],
        ["→", "tiny_workflow.check"],
        ["✓", "tiny_workflow.check"],
    ]
    assert all(DONE.match(line) and not DONE.match(line).group(3) for line in lines[1::2])
    cached = [DONE.match(line).groups() for line in second.getvalue().splitlines()[1::2]]
    assert [(name, flag) for name, _, flag in cached] == [
        ("tiny_workflow.double", " (cached)"),
        ("tiny_workflow.check", None),  # not a cached task: it runs every time
    ]


def test_a_failing_task_is_named_and_its_error_propagates_unchanged():
    tiny = tiny_module()
    out = io.StringIO()
    with pytest.raises(Exception, match="x must be positive, got -2"):
        with task_progress(out):
            tiny.tiny(x=-1)
    last = out.getvalue().splitlines()[-1]
    assert re.match(r"^  ✗ tiny_workflow\.check  failed after \d+\.\d s: .*x must be positive, got -2", last)


def test_the_hooks_are_removed_after_the_block():
    before = (Task.local_execute, Task.sandbox_execute)
    with task_progress(io.StringIO()):
        assert Task.local_execute is not before[0]
    assert (Task.local_execute, Task.sandbox_execute) == before


def run_pyflyte(*args: str) -> tuple[subprocess.CompletedProcess, str]:
    """`python -m scripts.progress pyflyte run` as the demo runs it: output captured, progress
    lines on their own descriptor."""
    read, write = os.pipe()
    env = {**os.environ, PROGRESS_FD_ENV: str(write)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "scripts.progress", "pyflyte", "run", str(TINY), "tiny", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            pass_fds=(write,),
            timeout=300,
        )
    finally:
        os.close(write)
    with os.fdopen(read, encoding="utf-8") as lines:
        return done, lines.read()


def test_pyflyte_run_through_progress_keeps_its_output_and_errors():
    done, progress = run_pyflyte("--x", "4")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "9" in done.stdout  # pyflyte prints the workflow's output as usual
    assert [line.split()[:2] for line in progress.splitlines()] == [
        ["→", "tiny_workflow.double"],
        ["✓", "tiny_workflow.double"],
        ["→", "tiny_workflow.check"],
        ["✓", "tiny_workflow.check"],
    ]
    failed, progress = run_pyflyte("--x", "-3")
    assert failed.returncode != 0
    assert "x must be positive, got -6" in failed.stdout + failed.stderr  # the error, as pyflyte shows it
    assert "✗ tiny_workflow.check  failed after" in progress.splitlines()[-1]
