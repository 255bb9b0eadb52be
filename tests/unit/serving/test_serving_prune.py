"""The sync's disk side (no registry): pruning keeps the pointed version."""

import os
import time

from seldon.pointer import write_pointer
from seldon.sync import prune


def test_prune_keeps_the_newest_and_the_pointed_version(tmp_path):
    for index, version in enumerate(["1", "2", "3", "4"]):
        folder = tmp_path / "versions" / version
        folder.mkdir(parents=True)
        stamp = time.time() - 100 + index
        os.utime(folder, (stamp, stamp))
    (tmp_path / "versions" / ".fetch-5-tmp").mkdir()  # a download in progress is left alone
    write_pointer(tmp_path, "1")  # rolled back to the oldest
    prune(tmp_path, keep=2)
    left = sorted(p.name for p in (tmp_path / "versions").iterdir())
    assert left == [".fetch-5-tmp", "1", "3", "4"]
