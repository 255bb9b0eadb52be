"""Container images of the Flyte tasks (the serving image is the repository's Dockerfile)."""

from images.task_image import TASK_IMAGE

__all__ = ["TASK_IMAGE"]
