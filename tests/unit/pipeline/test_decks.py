"""A task's deck opens on what that task made: no tabs of earlier tasks, no pandera reports of
its inputs (the deck of the task that made them holds those), no image fetched from the web."""

from __future__ import annotations

import flytekit.deck.deck
import pytest
from flytekit import Deck, workflow

from tasks.frames import FeatureFrame
from tasks.util import pipeline_task
from tests.support.tables import feature_table


@pipeline_task(cache=True, deck=True)
def make_table(rows: int) -> FeatureFrame:
    Deck("Made", "<p>the table</p>")
    return feature_table(rows, seed=0)


@pipeline_task(cache=True, deck=True)
def read_table(table: FeatureFrame) -> int:
    Deck("Read", f"<p>{len(table)} rows</p>")
    return len(table)


@workflow
def two_deck_tasks(rows: int) -> int:
    return read_table(table=make_table(rows=rows))


@pytest.fixture(scope="module")
def written() -> dict[str, tuple[list[str], str]]:
    """{task: (its deck's tabs in order, the deck file's HTML)} of one local execution."""
    decks = {}
    output_deck = flytekit.deck.deck._output_deck

    def keep(task_name, new_user_params):
        output_deck(task_name, new_user_params)
        decks[task_name] = (
            [deck.name for deck in new_user_params.decks],
            flytekit.deck.deck._get_deck(new_user_params, ignore_jupyter=True),
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(flytekit.deck.deck, "_output_deck", keep)
        assert two_deck_tasks(rows=40) == 40
    return decks


def test_a_deck_holds_its_own_tabs_first_then_the_reports_of_what_it_returned(written):
    assert written["make_table"][0] == ["Made", "Pandera Report: FeatureTable"]


def test_a_deck_repeats_no_earlier_task_and_no_report_of_its_inputs(written):
    assert written["read_table"][0] == ["Read"]


def test_the_pandera_report_links_no_image_from_the_web(written):
    tabs, html = written["make_table"]
    assert "Data validation succeeded" in html
    assert "raw.githubusercontent.com" not in html and "Pandera Logo" not in html


@pipeline_task(cache=False)
def make_table_without_deck(rows: int) -> FeatureFrame:
    return feature_table(rows, seed=0)


def test_a_task_without_a_deck_renders_no_validation_report(monkeypatch):
    """Its frames are still validated, but no deck would show their report (about a second for
    a window of raw flights); a task with a deck still renders it."""
    from flytekitplugins.pandera.pandas_renderer import PandasReportRenderer

    rendered = []
    report = PandasReportRenderer.to_html
    monkeypatch.setattr(
        PandasReportRenderer, "to_html", lambda self, *a, **k: rendered.append(1) or report(self, *a, **k)
    )
    assert len(make_table_without_deck(rows=40)) == 40
    assert rendered == []
    make_table(rows=41)
    assert rendered == [1]


def test_a_schema_error_on_every_row_is_one_line_of_the_report_with_its_count_and_first_cases():
    """A wrong dtype fails every row: the plugin's report had a line per failing value (about 30 s
    of rendering for two months of flights); ours has one per column and rule, like its
    data-level table, with the count and the first cases."""
    import pandera.errors

    from tasks.frames import OfflinePanderaReport, schema_failures
    from usecases.flights.schemas import FeatureTable

    table = feature_table(3000, seed=0)
    table["temp"] = "at " + table["temp"].round().astype(str)
    schema = FeatureTable.to_schema()
    with pytest.raises(pandera.errors.SchemaErrors) as failed:
        schema.validate(table, lazy=True)
    report = OfflinePanderaReport()
    rows = schema_failures(report._create_error_report(table, schema, failed.value).schema_error_df)
    dtype = rows[rows["column"] == "temp"]
    assert len(dtype) == len(dtype.drop_duplicates(["error_code", "check"]))  # one line per rule
    assert dtype["failure_cases"].max() == 3000
    assert any(text.endswith("... (+2990 more)") for text in dtype["failure_case"])
    html = report.to_html(table, schema, failed.value)
    assert "temp" in html and "(+2990 more)" in html and "Data validation failed" in html
