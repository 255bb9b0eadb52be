"""Plain pandas / scikit-learn / MLflow logic of the pipeline.

Nothing here imports flytekit: `tasks/` wraps these functions as typed Flyte tasks, and the unit
tests call them directly.
"""
