"""Rows refused at validation, with their reasons, and the account of every row a window read.

By default a single invalid row fails the run: pandera's error names the column and the rule.
With a tolerance (`max_share` > 0), rows that break a row-level rule are refused instead: counted
by reason, left out, shown in the data deck and on the MLflow run, and the run still fails when
they are more than the tolerance. A rule about the whole table (a missing column, a wrong dtype,
an empty window or side table) always fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors


@dataclass
class RefusedRows:
    """How many of a window's rows were refused, why, and under what tolerance."""

    rows_read: int = 0
    refused: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # "column 'month': in_range(1, 12)" -> rows
    max_share: float = 0.0

    def share(self) -> float:
        return self.refused / self.rows_read if self.rows_read else 0.0

    def summary(self) -> str:
        reasons = "; ".join(f"{reason}: {count:,} rows" for reason, count in self.reasons.items())
        return (
            f"{self.refused:,} of {self.rows_read:,} rows refused ({self.share():.2%}, tolerance "
            f"max_refused_share={self.max_share:g})" + (f": {reasons}" if reasons else "")
        )


# What a caller that read no source (a test registering a bundle) reports.
NOTHING_REFUSED = RefusedRows()


class TooManyRefusedRows(ValueError):
    """More rows broke a rule than the tolerance allows."""


def refuse_invalid_rows(
    frame: pd.DataFrame, schema: type[pa.DataFrameModel], max_share: float
) -> tuple[pd.DataFrame, RefusedRows]:
    """`frame` without the rows that break a row-level rule of `schema`, and the account of them.

    With `max_share` 0 nothing is refused here: the schema's own validation at the task boundary
    fails on the first bad row, naming it. A table-level failure is raised as pandera raised it."""
    account = RefusedRows(rows_read=len(frame), max_share=max_share)
    if max_share <= 0:
        return frame, account
    try:
        schema.validate(frame, lazy=True)
        return frame, account
    except SchemaErrors as error:
        cases = error.failure_cases
        if cases["index"].isna().any():
            raise
    cases = cases.assign(reason=[_reason(case) for case in cases.itertuples()])
    per_reason = cases.drop_duplicates(["reason", "index"])["reason"].value_counts()
    refused = pd.Index(cases["index"].unique())
    account.refused = len(refused)
    account.reasons = {str(reason): int(count) for reason, count in per_reason.items()}
    if account.share() > max_share:
        raise TooManyRefusedRows(f"{account.summary()}: above the tolerance")
    return frame.drop(index=refused).reset_index(drop=True), account


def _reason(case) -> str:
    if case.schema_context == "Column":
        return f"column '{case.column}': {case.check}"
    return str(case.check)


def row_account(refused: RefusedRows, raw_rows: int, table: pd.DataFrame, label: str) -> pd.DataFrame:
    """Where each row of the window went: refused (then each rule broken, a row may break
    several), a repeated key (the first row kept), kept with its truth known or not yet.
    Refused, dropped and the two kept counts add up to the rows read."""
    known = int(table[label].notna().sum())
    rows = [("read for the window", refused.rows_read), ("refused", refused.refused)]
    rows += [(f"refused for {reason}", count) for reason, count in refused.reasons.items()]
    rows += [
        ("dropped: same key as an earlier row", raw_rows - len(table)),
        ("kept, truth known", known),
        ("kept, truth not yet known", len(table) - known),
    ]
    return pd.DataFrame(rows, columns=["rows", "count"])
