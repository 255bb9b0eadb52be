"""Typed dataframe annotations shared by the tasks, from the use case this process runs.

Each table is a pandera-typed DataFrame of the use case's schemas (validated at every task
boundary by flytekitplugins-pandera) carrying a `HashMethod`, so a cached task downstream of it
hits the cache when the content is the same.

The use case (`usecases.current()`, set by `MLOPS_USE_CASE`) is resolved once, when this module
loads: a task's signature is fixed when it is defined, and a process runs one use case. A test of
another use case runs `pyflyte run` in a process of its own with `MLOPS_USE_CASE` set. On a
cluster the task image carries the same setting (`images.task_image`), so a pod resolves the use
case its tasks were registered with.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

import pandas as pd
from flytekit import FlyteContextManager, HashMethod
from flytekit.core.context_manager import ExecutionState
from flytekitplugins.pandera import pandas_transformer
from flytekitplugins.pandera.pandas_renderer import FAILURE_CASE_LIMIT, PandasReportRenderer
from pandera.typing import DataFrame

import usecases

USE_CASE = usecases.current()


def hash_frame(frame: pd.DataFrame) -> str:
    """Content hash of a frame: values, index and column names."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    digest.update(",".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


PANDERA_LOGO = re.compile(
    r'<img src="https://raw\.githubusercontent\.com/pandera-dev/[^"]*" alt="Pandera Logo">'
)


def schema_failures(errors: pd.DataFrame) -> pd.DataFrame:
    """The plugin's schema-level errors (a row per failing value: a wrong dtype fails every row)
    as one row per column and rule, with the count of failing values and the first of them, the
    way the plugin's own data-level table shows them."""

    def first_cases(cases: pd.Series) -> str:
        shown = ", ".join(cases.iloc[:FAILURE_CASE_LIMIT].astype(str))
        more = len(cases) - FAILURE_CASE_LIMIT
        return f"{shown} ... (+{more} more)" if more > 0 else shown

    keys = ["column", "error_code", "check", "error"]
    grouped = errors.groupby(keys, dropna=False, sort=False)["failure_case"]
    summary = grouped.agg(failure_cases="size", failure_case=first_cases).reset_index()
    return summary[["column", "error_code", "check", "failure_cases", "failure_case", "error"]]


def decks_shown() -> bool:
    """False inside a task that renders no deck (its validation reports would be thrown away)."""
    context = FlyteContextManager.current_context()
    state, params = context.execution_state, context.user_space_params
    in_task = state is not None and state.mode in (
        ExecutionState.Mode.TASK_EXECUTION,
        ExecutionState.Mode.LOCAL_TASK_EXECUTION,
    )
    return not in_task or params is None or params.enable_deck


class OfflinePanderaReport(PandasReportRenderer):
    """flytekitplugins-pandera's validation report without its logo, which the plugin links from
    GitHub (a broken image in every deck read offline), and with a line per column and rule in
    its schema-level table instead of a line per failing value (about 30 s of rendering when two
    months of rows have a wrong dtype)."""

    def to_html(self, *args: Any, **kwargs: Any) -> str:
        if not decks_shown():
            return ""  # no deck will show it: the report of a large frame costs about a second
        return PANDERA_LOGO.sub("", super().to_html(*args, **kwargs))

    def _format_schema_error_df(self, df: pd.DataFrame) -> str:
        return str(super()._format_schema_error_df(schema_failures(df)))


# The plugin's transformer makes its report through this module-level name.
pandas_transformer.PandasReportRenderer = OfflinePanderaReport  # type: ignore[misc]

RawFrame = Annotated[DataFrame[USE_CASE.raw_schema], HashMethod(hash_frame)]  # type: ignore[name-defined]
FeatureFrame = Annotated[DataFrame[USE_CASE.feature_schema], HashMethod(hash_frame)]  # type: ignore[name-defined]
