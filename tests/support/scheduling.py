"""How `make test` deals the tests to its pytest-xdist workers (`-n 2 --dist loadfile`).

A test file is one unit of work, so its module fixtures are made once; the files of a group below
are one unit, so a session fixture they share is made once (the operator files reading the
monitored loop: about 50 s of set-up each time it is made). pytest-xdist's own `xdist_group`
marker cannot do this here: its `loadgroup` renames each marked test's id, which pytest 9 no
longer lets a plugin do, and it sends every unmarked test on its own.
"""

from __future__ import annotations

import pytest
from xdist.scheduler import LoadFileScheduling

# Test files (from the repository root) that share an expensive session fixture -> their group.
GROUPS = {
    "tests/integration/operator/test_dashboard.py": "operator-loop",
    "tests/integration/operator/test_monitoring_alerts.py": "operator-loop",
    "tests/integration/operator/test_registry_page.py": "operator-loop",
}


def unit_of_work(nodeid: str) -> str:
    """The group of a test's file, else the file."""
    path = nodeid.split("::", 1)[0]
    return GROUPS.get(path, path)


class FilesAndGroups(LoadFileScheduling):
    def _split_scope(self, nodeid: str) -> str:
        return unit_of_work(nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """Under `--dist loadfile` (`make test`), a file or a group of files to one worker."""
    if config.getvalue("dist") != "loadfile":
        return None
    return FilesAndGroups(config, log)
