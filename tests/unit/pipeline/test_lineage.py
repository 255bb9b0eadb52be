"""The code and time a registered version records (core.lineage): the commit from a real git
checkout (clean, modified, untracked), from GIT_COMMIT where there is no checkout, and the
training run's duration."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from core.lineage import UNKNOWN, CodeVersion, Lineage, code_version


def git(root, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def checkout(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "model.py").write_text("DEPTH = 3\n")
    git(root, "add", "model.py")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_a_clean_checkout_gives_its_head_commit(checkout):
    assert code_version(checkout, env={}) == CodeVersion(git(checkout, "rev-parse", "HEAD"), "false", "git")


def test_a_modified_or_untracked_file_makes_the_tree_dirty(checkout):
    head = git(checkout, "rev-parse", "HEAD")
    (checkout / "model.py").write_text("DEPTH = 4\n")
    assert code_version(checkout, env={}) == CodeVersion(head, "true", "git")
    git(checkout, "checkout", "--", "model.py")
    (checkout / "features.py").write_text("NEW = 1\n")  # imported by the run as well
    assert code_version(checkout, env={}) == CodeVersion(head, "true", "git")


def test_git_commit_set_at_registration_wins_where_there_is_no_checkout(tmp_path, checkout):
    env = {"GIT_COMMIT": "0123abc", "GIT_DIRTY": "False"}
    assert code_version(tmp_path / "no-git", env=env) == CodeVersion("0123abc", "false", "GIT_COMMIT")
    # set, it also wins over a checkout: it names the registered code, the checkout may be another
    assert code_version(checkout, env={"GIT_COMMIT": "0123abc"}).commit == "0123abc"
    assert code_version(checkout, env={"GIT_COMMIT": "0123abc", "GIT_DIRTY": "maybe"}).dirty == UNKNOWN
    assert code_version(checkout, env={"GIT_COMMIT": "  "}).source == "git"  # blank is unset


def test_no_checkout_and_no_variable_is_unknown_not_a_guess(tmp_path):
    assert code_version(tmp_path, env={}) == CodeVersion(UNKNOWN, UNKNOWN, UNKNOWN)


def test_the_duration_runs_from_the_workflow_start_to_the_registration():
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    tags = Lineage(CodeVersion("abc", "false", "git"), started).tags(started + timedelta(seconds=754.25))
    assert tags == {
        "git_commit": "abc",
        "git_dirty": "false",
        "git_commit_source": "git",
        "training_started_at": "2026-01-02T03:04:05+00:00",
        "training_duration_seconds": "754.2",
    }
    # Flyte may hand the start over without a zone: it is UTC, not the machine's local time
    naive = Lineage(CodeVersion(), started.replace(tzinfo=None)).tags(started + timedelta(seconds=10))
    assert naive["training_duration_seconds"] == "10.0"
    assert "training_duration_seconds" not in Lineage(CodeVersion()).tags()  # no start, no figure
