"""Every change to the stock wrapper is listed, with its reason, in seldon/wrapper_changes.py's
docstring, and each entry names the tests that pin it."""

from __future__ import annotations

import re
from pathlib import Path

import seldon.wrapper_changes as wrapper_changes

TESTS = Path(__file__).resolve().parents[2]


def _entries() -> list[str]:
    return re.split(r"\n\s*(?=\d+\. )", wrapper_changes.__doc__ or "")[1:]


def test_every_listed_change_names_tests_that_exist():
    entries = _entries()
    assert len(entries) >= 9, entries
    for entry in entries:
        named = re.findall(r"\[([^\]]+)\]", entry)
        assert named, f"no test named for: {entry[:80]}"
        for module in named[-1].split(","):
            found = list(TESTS.rglob(f"{module.strip()}.py"))
            assert found, f"{module.strip()} (named for: {entry[:60]}) is not a test module"


def test_the_changes_are_applied_by_the_entry_point_only():
    serve = (Path(wrapper_changes.__file__).with_name("serve.py")).read_text()
    assert "wrapper_changes.apply(" in serve
    model = (Path(wrapper_changes.__file__).with_name("model.py")).read_text()
    assert "wrapper_changes" not in model.split('"""', 2)[2]  # the model class does not import them
