"""A process that loaded the project's tasks ends without the interpreter's final collections.

At exit CPython tears its modules down with full garbage collections over every object still
tracked, and a process that loaded flytekit, MLflow, SQLAlchemy, pandas and scikit-learn holds
hundreds of thousands: measured here, about 1 s for the training workflow's imports and an
MLflow client, 1.4-1.7 s after a cold training run, 0.33 s for flytekit alone
(docs/performance.md). `gc.freeze()` run at exit takes them out of those collections, and the
process ends in well under 0.1 s. Every exit handler still runs (logging's flush, MLflow's,
`weakref.finalize` callbacks such as temporary directories'); what no longer runs at exit are
the `__del__` methods of objects caught in reference cycles, which Python does not promise to
call at exit anyway (the data model's note on `object.__del__`).
"""

from __future__ import annotations

import atexit
import gc

_registered: list[bool] = []


def freeze_at_exit() -> None:
    """Have this process freeze the garbage collector's objects when it exits (once)."""
    if not _registered:
        atexit.register(gc.freeze)
        _registered.append(True)
