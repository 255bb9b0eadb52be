"""The baseline of the pipeline benchmark: one task, nothing else, run with `pyflyte run`."""

from flytekit import task, workflow


@task
def add_one(x: int) -> int:
    return x + 1


@workflow
def trivial_workflow(x: int = 1) -> int:
    return add_one(x=x)
