"""A process that loaded the tasks exits with the garbage collector's objects frozen
(tasks/shutdown.py), and its exit handlers and the objects it drops still finish their work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.paths import PROJECT_ROOT

PROCESS = """
import atexit, gc, sys, tempfile
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))  # first in, last run
import tasks.util
kept = tempfile.TemporaryDirectory()  # removed by its weakref.finalize exit handler
written = open(sys.argv[1], "w")  # flushed and closed when the interpreter drops it
written.write("flushed")
print(kept.name)
"""


def test_a_process_with_the_tasks_exits_frozen_and_still_cleans_up(tmp_path):
    written = tmp_path / "written.txt"
    result = subprocess.run(
        [sys.executable, "-c", PROCESS, str(written)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    directory, frozen = result.stdout.strip().splitlines()
    assert frozen == "frozen at exit: True"
    assert Path(directory).is_absolute() and not Path(directory).exists()
    assert written.read_text() == "flushed"
