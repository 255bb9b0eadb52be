"""Lineage of code and time on a registered version: the git commit it was trained from, whether
the tree had changes the commit does not hold, and how long the training run took.

Where the commit comes from: `GIT_COMMIT` (and `GIT_DIRTY`, `true` or `false`) when set, which is
how a Flyte cluster run knows it (its pods hold the registered code, not a git checkout:
`pyflyte register --env GIT_COMMIT=... --env GIT_DIRTY=...`, docs/deploy.md); otherwise `git`
in the project's checkout; otherwise `unknown`. Untracked files count as changes: an untracked
module can be imported by the run as well as a modified one.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.paths import PROJECT_ROOT

GIT_COMMIT_ENV = "GIT_COMMIT"
GIT_DIRTY_ENV = "GIT_DIRTY"
UNKNOWN = "unknown"
# MLflow's own run tag for the commit: the run page shows it as the run's git commit.
MLFLOW_COMMIT_TAG = "mlflow.source.git.commit"


@dataclass(frozen=True)
class CodeVersion:
    commit: str = UNKNOWN
    dirty: str = UNKNOWN  # "true", "false" or "unknown"
    source: str = UNKNOWN  # where the commit was read: GIT_COMMIT, git, or unknown


def code_version(root: Path = PROJECT_ROOT, env: Mapping[str, str] | None = None) -> CodeVersion:
    """The commit the code of this process comes from (module docstring for the order)."""
    env = os.environ if env is None else env
    given = env.get(GIT_COMMIT_ENV, "").strip()
    if given:
        dirty = env.get(GIT_DIRTY_ENV, "").strip().lower()
        return CodeVersion(given, dirty if dirty in ("true", "false") else UNKNOWN, GIT_COMMIT_ENV)
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None:
        return CodeVersion()
    changes = _git(root, "status", "--porcelain")
    dirty = UNKNOWN if changes is None else str(bool(changes)).lower()
    return CodeVersion(commit, dirty, "git")


def _git(root: Path, *args: str) -> str | None:
    """`git -C root args` stripped, or None when git is missing or root is not a checkout."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@dataclass(frozen=True)
class Lineage:
    """What a registration records of its code and of the run that made it."""

    code: CodeVersion
    started_at: datetime | None = None  # the training workflow's start (its first node)

    def tags(self, now: datetime | None = None) -> dict[str, str]:
        """Tags for the version and its run; the duration runs from the workflow's start to `now`
        (the registration)."""
        tags = {
            "git_commit": self.code.commit,
            "git_dirty": self.code.dirty,
            "git_commit_source": self.code.source,
        }
        if self.started_at is not None:
            started = _utc(self.started_at)
            ended = _utc(now or datetime.now(UTC))
            tags["training_started_at"] = started.isoformat(timespec="seconds")
            tags["training_duration_seconds"] = f"{(ended - started).total_seconds():.1f}"
        return tags


def _utc(moment: datetime) -> datetime:
    """A naive datetime is taken as UTC (Flyte hands datetimes over without a zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
