"""Typed dataframe annotations shared by the tasks.

Each table is a pandera-typed DataFrame (validated at every task boundary by
flytekitplugins-pandera) carrying a `HashMethod`, so a cached task downstream of it hits the cache
when the content is the same.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

import pandas as pd
from flytekit import HashMethod
from flytekitplugins.pandera import pandas_transformer
from flytekitplugins.pandera.pandas_renderer import PandasReportRenderer
from pandera.typing import DataFrame

from core.schemas import FeatureTable, RawFlights


def hash_frame(frame: pd.DataFrame) -> str:
    """Content hash of a frame: values, index and column names."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    digest.update(",".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


PANDERA_LOGO = re.compile(
    r'<img src="https://raw\.githubusercontent\.com/pandera-dev/[^"]*" alt="Pandera Logo">'
)


class OfflinePanderaReport(PandasReportRenderer):
    """flytekitplugins-pandera's validation report without its logo, which the plugin links from
    GitHub: a broken image in every deck read offline."""

    def to_html(self, *args: Any, **kwargs: Any) -> str:
        return PANDERA_LOGO.sub("", super().to_html(*args, **kwargs))


# The plugin's transformer makes its report through this module-level name.
pandas_transformer.PandasReportRenderer = OfflinePanderaReport  # type: ignore[misc]

RawFrame = Annotated[DataFrame[RawFlights], HashMethod(hash_frame)]
FeatureFrame = Annotated[DataFrame[FeatureTable], HashMethod(hash_frame)]
