"""Flyte workflows: one module per workflow. Run from the repository root, e.g.
`pyflyte run workflows/training.py training_workflow --as_of 2013-07-01`."""
