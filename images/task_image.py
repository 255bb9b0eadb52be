"""The task image: every task runs in it on a cluster (`container_image=TASK_IMAGE`).

Built by `pyflyte register`/`pyflyte run --remote` through ImageSpec's builder, from the same
pins as the local pipeline environment (`uv.lock` exported to requirements). `FLYTE_TASK_IMAGE`
overrides it with a prebuilt image (CI builds and pushes one, then registers with it). The
trees' thread policy (`images/threads.env`) is in its environment.
"""

from __future__ import annotations

import os

from flytekit import ImageSpec

import usecases
from core.paths import PROJECT_ROOT
from images.threads import thread_policy


def task_image_spec() -> ImageSpec:
    """The task image built from the pipeline's pins, with the thread policy and the use case in
    its environment."""
    return ImageSpec(
        name=f"{usecases.current().name}-tasks",
        python_version="3.11",
        requirements=str(PROJECT_ROOT / "images" / "requirements.txt"),
        registry=os.environ.get("FLYTE_IMAGE_REGISTRY", "localhost:30000"),
        # The use case a pod runs: the one its tasks were registered with. Their signatures carry
        # that use case's schemas (`tasks.frames`), so the pod must resolve the same one. A
        # prebuilt FLYTE_TASK_IMAGE must set MLOPS_USE_CASE (and the thread policy) the same way.
        env={**thread_policy(), usecases.ENV: usecases.current().name},
    )


TASK_IMAGE: ImageSpec | str = os.environ.get("FLYTE_TASK_IMAGE") or task_image_spec()
