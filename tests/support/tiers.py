"""The tier of a test module is the first folder under tests/ (`tests/conftest.py` marks each test)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS_ROOT = Path(__file__).resolve().parents[1]
TIERS = ("unit", "integration", "e2e")


def tier_of(path: Path) -> str:
    """The tier of a test file: the first folder under tests/."""
    parts = Path(path).resolve().relative_to(TESTS_ROOT).parts
    if len(parts) < 2 or parts[0] not in TIERS:
        raise pytest.UsageError(
            f"{path}: a test module lives under tests/unit, tests/integration or tests/e2e (its tier)"
        )
    return parts[0]
