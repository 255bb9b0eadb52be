"""Train the serving tests' bundles as a process of their own (`conftest.py` starts it when the run
is collected, so the training runs while the tests before the serving ones do):

    python tests/integration/serving/make_bundles.py DIRECTORY

`serving_support.train_bundles(DIRECTORY)`, with fresh MLflow stores from the run's migrated copy.
"""

from __future__ import annotations

import sys
from pathlib import Path

from serving_support import train_bundles

from tests.support import mlflow_schema

if __name__ == "__main__":
    mlflow_schema.install()
    train_bundles(Path(sys.argv[1]))
