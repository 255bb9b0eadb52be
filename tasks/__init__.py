"""Typed Flyte tasks: thin wrappers over the plain functions in `core/`."""
