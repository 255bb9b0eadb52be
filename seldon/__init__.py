"""Serving side: the Seldon model class, its bundle loader, manifests and alert rules.

Everything under `seldon/` runs in the serving environment (`seldon/requirements.txt`) and reads
only the model bundle's files; it imports nothing from the pipeline.
"""
