"""The bundle contract between training (`core/`, `tasks/`) and serving (`seldon/`).

Neither side imports the other: both import this package. It needs the standard library, numpy
and skops only (mlflow, for the registry helpers, is imported inside the functions that use it),
so it runs unchanged in the pipeline image and in the serving image.

  contract.names        alias names, the probability output, a class's metric label
  contract.bundle       file names, typed schema / reference / metadata, skops allowlist, sha256,
                        read and write of a bundle directory; the use case's names travel in it
  contract.request_log  the serving request log's line format (writer and reader)
  contract.registry     the registry's location, alias resolution and bundle download
"""
