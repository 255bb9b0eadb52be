"""Per-task progress lines for long local runs (`make demo`, `make replay`).

While `task_progress()` is active, every Flyte task executed locally prints a line when it starts
and one when it ends, with its elapsed time, and says whether its result came from the local cache
or whether it failed (the exception itself still propagates, untouched):

    → tasks.training.train_model
    ✓ tasks.training.train_model  41.2 s
    ✓ tasks.data.load_source  0.1 s (cached)
    ✗ tasks.training.evaluate_model  failed after 3.0 s: ValueError: ...

It wraps `Task.local_execute` (one call per task node of a local execution) and
`Task.sandbox_execute` (called only when the task's body runs, so a call that skips it was served
by the cache). A map task is one line. flytekit 1.16.31 has no public hook around a task's local
execution (a task's `pre_execute`/`post_execute` run only with its body, never on a cache hit):
this block is the one place that swaps the two methods, and tests/unit/operator/test_progress.py
pins it against the installed flytekit.

`python -m scripts.progress pyflyte run ...` runs pyflyte's own command line with the lines on, in
this process; `PROGRESS_FD` names a file descriptor to write them to (the demo passes its own
terminal while it captures pyflyte's output).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

PROGRESS_FD_ENV = "PROGRESS_FD"


def _short(error: BaseException, limit: int = 300) -> str:
    """The error on one line (flytekit puts the task's own message on the next lines)."""
    text = " ".join(line.strip() for line in f"{type(error).__name__}: {error}".splitlines() if line.strip())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextmanager
def task_progress(out: TextIO | None = None, indent: str = "  ") -> Iterator[None]:
    """Print a start and an end line for each Flyte task run locally inside the block."""
    from flytekit.core.base_task import Task

    stream = out or sys.stderr
    original_local, original_sandbox = Task.local_execute, Task.sandbox_execute
    executed: list[bool] = []  # one flag per running task (innermost last)

    def write(line: str) -> None:
        stream.write(f"{indent}{line}\n")
        stream.flush()

    def sandbox_execute(self, *args, **kwargs):
        if executed:
            executed[-1] = True
        return original_sandbox(self, *args, **kwargs)

    def local_execute(self, *args, **kwargs):
        write(f"→ {self.name}")
        executed.append(False)
        started = time.perf_counter()
        try:
            result = original_local(self, *args, **kwargs)
        except BaseException as error:
            write(f"✗ {self.name}  failed after {time.perf_counter() - started:.1f} s: {_short(error)}")
            raise
        finally:
            ran = executed.pop()
        cached = "" if ran else " (cached)"
        write(f"✓ {self.name}  {time.perf_counter() - started:.1f} s{cached}")
        return result

    Task.local_execute, Task.sandbox_execute = local_execute, sandbox_execute  # type: ignore[method-assign]
    try:
        yield
    finally:
        Task.local_execute, Task.sandbox_execute = original_local, original_sandbox  # type: ignore[method-assign]


def progress_stream() -> TextIO:
    """Where the lines go: the descriptor in PROGRESS_FD when set, else stderr."""
    fd = os.environ.get(PROGRESS_FD_ENV)
    if fd:
        return os.fdopen(int(fd), "w", buffering=1, encoding="utf-8", closefd=False)
    return sys.stderr


def main(argv: list[str] | None = None) -> int:
    """`python -m scripts.progress pyflyte run ...`: pyflyte's command line, with progress lines."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "pyflyte":
        raise SystemExit("usage: python -m scripts.progress pyflyte <pyflyte arguments>")
    from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

    with task_progress(progress_stream()):
        try:
            pyflyte.main(args=args[1:], prog_name="pyflyte", standalone_mode=True)
        except SystemExit as done:
            return int(done.code or 0) if not isinstance(done.code, str) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
