"""Container images of the Flyte tasks (the serving image is the repository's Dockerfile).

`TASK_IMAGE` is imported on first use: `images.threads` (the thread policy) is read by the tests'
conftest before flytekit may be imported."""

from __future__ import annotations

from typing import Any

__all__ = ["TASK_IMAGE"]


def __getattr__(name: str) -> Any:
    if name == "TASK_IMAGE":
        from images.task_image import TASK_IMAGE

        return TASK_IMAGE
    raise AttributeError(f"module 'images' has no attribute {name!r}")
