"""Typed dataframe annotations shared by the tasks.

Each table is a pandera-typed DataFrame (validated at every task boundary by
flytekitplugins-pandera) carrying a `HashMethod`, so a cached task downstream of it hits the cache
when the content is the same.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

import pandas as pd
from flytekit import HashMethod
from pandera.typing import DataFrame

from core.schemas import FeatureTable, RawFlights


def hash_frame(frame: pd.DataFrame) -> str:
    """Content hash of a frame: values, index and column names."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    digest.update(",".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


RawFrame = Annotated[DataFrame[RawFlights], HashMethod(hash_frame)]
FeatureFrame = Annotated[DataFrame[FeatureTable], HashMethod(hash_frame)]
