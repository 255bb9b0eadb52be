"""The time units every online feature is computed in, offline and online.

A use case's time-dependent features are as of one prediction time t = event time - horizon;
only events at or before t are known then. Times are whole minutes since 1970-01-01 of the
data's wall clock (the source's local times), so that offline and online compare the same
integers. A use case's own features live in its package (`usecases/<name>/`).
"""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pandas as pd

_EPOCH = np.datetime64("1970-01-01T00:00", "m")
DAY_MINUTES = 24 * 60


def minutes(stamps: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Wall-clock timestamps as whole minutes since 1970 (float: NaN where missing)."""
    values = pd.DatetimeIndex(stamps).to_numpy().astype("datetime64[m]")
    out = (values - _EPOCH).astype(np.int64).astype(np.float64)
    out[np.isnat(values)] = np.nan
    return out


def check_horizon(horizon_minutes: int) -> None:
    if not 0 <= horizon_minutes <= 24 * 60:
        raise ValueError(f"horizon_minutes must be in [0, 1440], got {horizon_minutes}")


_EPOCH_CLOCK = datetime(1970, 1, 1)
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")


def minute_of(text: str) -> int:
    """A local wall-clock time (ISO 8601, 'YYYY-MM-DDTHH:MM', seconds allowed and dropped) as
    whole minutes since 1970, the unit of `minutes`; ValueError for anything else, offsets included
    (the wall clock of the data is the clock of the request)."""
    if not isinstance(text, str) or not _LOCAL_TIME.fullmatch(text):
        raise ValueError("a local time like '2013-06-14T07:05'")
    moment = datetime.fromisoformat(text)  # the pattern leaves no offset; this checks the calendar
    return int((moment - _EPOCH_CLOCK).total_seconds() // 60)
