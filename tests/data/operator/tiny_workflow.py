"""A two-task workflow for the progress-line tests: `pyflyte run` it like any workflow."""

from flytekit import task, workflow


@task(cache=True, cache_version="1")
def double(x: int) -> int:
    return 2 * x


@task
def check(x: int) -> int:
    if x < 0:
        raise ValueError(f"x must be positive, got {x}")
    return x + 1


@workflow
def tiny(x: int = 3) -> int:
    return check(x=double(x=x))
