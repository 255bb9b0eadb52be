"""Rows refused at validation: none by default, counted under a tolerance, every row accounted for."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from pandera.errors import SchemaErrors

from core.refusals import RefusedRows, TooManyRefusedRows, refuse_invalid_rows, row_account
from tasks.data import build_feature_table, load_source
from tests.support.tables import raw_rows
from usecases.flights.schemas import LABEL, WEATHER_FEATURES, RawFlights

MONTH_RULE = "column 'month': in_range(1, 12)"
DATE_RULE = "year, month and day must form a calendar date"


def bad_rows():
    """Ten flights: one in month 13 (two rules broken), one on June 31, one at minute 75."""
    raw = raw_rows([5.0] * 10)
    raw.loc[3, "month"] = 13
    raw.loc[5, "day"] = 31
    raw.loc[7, "minute"] = 75
    return raw


def test_without_a_tolerance_nothing_is_refused_here_and_validation_names_the_rule():
    raw = bad_rows()
    kept, refused = refuse_invalid_rows(raw, RawFlights, max_share=0.0)
    assert kept is raw and refused == RefusedRows(rows_read=10)
    with pytest.raises(SchemaErrors, match=r"in_range\(1, 12\) failure cases: 13"):
        RawFlights.validate(kept, lazy=True)


def test_under_the_tolerance_bad_rows_are_refused_and_counted_by_rule():
    kept, refused = refuse_invalid_rows(bad_rows(), RawFlights, max_share=0.3)
    assert (refused.rows_read, refused.refused, refused.max_share) == (10, 3, 0.3)
    assert refused.reasons == {DATE_RULE: 2, MONTH_RULE: 1, "column 'minute': in_range(0, 59)": 1}
    assert len(kept) == 7 and kept["flight"].tolist() == [100, 101, 102, 104, 106, 108, 109]
    RawFlights.validate(kept, lazy=True)


def test_above_the_tolerance_the_run_fails_naming_counts_and_rules():
    with pytest.raises(TooManyRefusedRows) as caught:
        refuse_invalid_rows(bad_rows(), RawFlights, max_share=0.2)
    message = str(caught.value)
    assert message.startswith("3 of 10 rows refused (30.00%, tolerance max_refused_share=0.2): ")
    assert f"{MONTH_RULE}: 1 rows" in message and f"{DATE_RULE}: 2 rows" in message
    assert message.endswith("above the tolerance")


def test_a_table_level_failure_is_never_refused_away():
    """No tolerance hides an empty weather table or a missing column: facts about the table."""
    raw = bad_rows().assign(**{column: np.nan for column in WEATHER_FEATURES})
    with pytest.raises(SchemaErrors, match="the weather table has no usable rows for the window"):
        refuse_invalid_rows(raw, RawFlights, max_share=0.9)
    with pytest.raises(SchemaErrors, match="column 'distance' not in dataframe"):
        refuse_invalid_rows(bad_rows().drop(columns=["distance"]), RawFlights, max_share=0.9)


def test_the_row_account_adds_up_to_the_rows_read():
    from usecases.flights.features import build_features

    kept, refused = refuse_invalid_rows(bad_rows(), RawFlights, max_share=0.3)
    repeated = kept.iloc[[0]].assign(arr_delay=99.0)  # the same flight again: its first row stays
    raw = kept._append(repeated, ignore_index=True)
    refused.rows_read += 1
    table = build_features(raw, known_at=datetime(2013, 6, 5))
    account = dict(row_account(refused, len(raw), table, LABEL).itertuples(index=False))
    assert account == {
        "read for the window": 11,
        "refused": 3,
        f"refused for {DATE_RULE}": 2,
        f"refused for {MONTH_RULE}": 1,
        "refused for column 'minute': in_range(0, 59)": 1,
        "dropped: same key as an earlier row": 1,
        "kept, truth known": 3,
        "kept, truth not yet known": 4,
    }
    parts = ["refused", "dropped: same key as an earlier row"]
    parts += ["kept, truth known", "kept, truth not yet known"]
    assert sum(account[part] for part in parts) == account["read for the window"]


class _DeckFiles(logging.Handler):
    """The deck files flytekit reports writing ("<task> task creates flyte deck html to ...")."""

    LINE = re.compile(r"(\w+) task creates flyte deck html to file://(\S+)")

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.found: dict[str, Path] = {}

    def emit(self, record: logging.LogRecord) -> None:
        match = self.LINE.search(record.getMessage())
        if match:
            self.found[match.group(1)] = Path(match.group(2))


@pytest.fixture
def deck_files():
    flytekit_logger = logging.getLogger("flytekit")
    level, capture = flytekit_logger.level, _DeckFiles()
    flytekit_logger.addHandler(capture)
    flytekit_logger.setLevel(logging.INFO)
    yield capture.found
    flytekit_logger.removeHandler(capture)
    flytekit_logger.setLevel(level)


def test_the_tasks_refuse_under_the_tolerance_and_the_data_deck_shows_it(tmp_path, deck_files):
    """`load_source` with a tolerance returns the valid rows and the account; the data deck of
    `build_feature_table` shows each rule and its count."""
    bad_rows().drop(columns=["plane_year", "seats", *WEATHER_FEATURES]).assign(
        dep_time=np.nan, dep_delay=np.nan, arr_time=np.nan, air_time=np.nan
    ).to_parquet(tmp_path / "flights.parquet", index=False)
    weather = raw_rows([0.0] * 31)[["origin", "year", "month", *WEATHER_FEATURES]]
    weather.assign(day=np.arange(31) % 30 + 1, hour=7).to_parquet(tmp_path / "weather.parquet", index=False)
    raw_rows([0.0])[["tailnum"]].assign(year=2005, seats=180).to_parquet(
        tmp_path / "planes.parquet", index=False
    )

    loaded = load_source(
        source_dir=str(tmp_path), start=datetime(2013, 6, 1), end=datetime(2013, 7, 1), max_refused_share=0.3
    )
    assert (len(loaded.raw), loaded.refused.refused, loaded.refused.reasons[MONTH_RULE]) == (7, 3, 1)
    build_feature_table(raw=loaded.raw, known_at=datetime(2013, 7, 1), refused=loaded.refused)
    deck = deck_files["build_feature_table"].read_text()
    assert "read for the window" in deck and f"refused for {MONTH_RULE}" in deck
    assert "kept, truth known" in deck
