"""Request-log segments: closed by size, age and exit; a killed writer's segment adopted; the
store's layout; shipping to a local artifact store, at least once, nothing lost."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from contract.log_segments import (
    close_orphans,
    closed_segments,
    first_store_folder,
    open_segments,
    replica_name,
    segment_opened,
    store_folder,
)
from contract.request_log import RequestLog, read_request_log, request_json
from tests.support import REPO


def _write(log, request_id):
    body = {"jsonData": {"carrier": "UA"}}
    log.write(request_id, "flights-late-arrival", "3", request_json(body, None), [0.1], [0], {})


def _ids(directory):
    return sorted(r["request_id"] for r in read_request_log(directory))


def test_segment_closes_by_size_with_an_idempotent_name(tmp_path):
    log = RequestLog(tmp_path, max_bytes=300, backups=0, max_seconds=0)
    for index in range(9):
        _write(log, f"r{index}")
    closed = closed_segments(tmp_path)
    assert len(closed) >= 2 and all(p.stat().st_size >= 300 for p in closed)
    opened = [segment_opened(p.name) for p in closed]
    assert opened == sorted(opened) and all(t.tzinfo is UTC for t in opened)
    log.close()
    assert not open_segments(tmp_path)  # closing flushes the open segment
    assert _ids(tmp_path) == [f"r{i}" for i in range(9)]


def test_segment_closes_by_age_and_no_empty_segment_is_left(tmp_path):
    log = RequestLog(tmp_path, max_seconds=0.3, backups=0)
    _write(log, "old")
    deadline = time.monotonic() + 5
    while not closed_segments(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(closed_segments(tmp_path)) == 1 and not open_segments(tmp_path)
    time.sleep(0.5)  # an idle writer opens nothing
    assert len(closed_segments(tmp_path)) == 1 and not open_segments(tmp_path)
    log.close()


def test_backups_cap_only_the_writers_own_closed_segments(tmp_path):
    log = RequestLog(tmp_path, max_bytes=1, backups=2, max_seconds=0)
    for index in range(5):
        _write(log, f"r{index}")
    assert _ids(tmp_path) == ["r3", "r4"]


_KILLED_WRITER = """
import sys, time
from contract.request_log import RequestLog, request_json
log = RequestLog(sys.argv[1], max_seconds=0)
for index in range(3):
    log.write(f"k{index}", "m", "1", request_json({"jsonData": {}}, None), [0.5], [1], {})
print("written", flush=True)
time.sleep(60)
"""


def test_a_killed_writers_open_segment_is_closed_by_whoever_finds_it(tmp_path):
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline().strip() == "written"
    assert close_orphans(tmp_path, min_idle_seconds=0) == []  # alive: its lock is held
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=10)
    assert close_orphans(tmp_path, min_idle_seconds=3600) == []  # written too recently to judge
    adopted = close_orphans(tmp_path, min_idle_seconds=0)
    assert len(adopted) == 1 and not open_segments(tmp_path)
    assert _ids(tmp_path) == ["k0", "k1", "k2"]  # SIGKILL lost no line that was written


def test_store_layout_and_the_dates_a_period_reads():
    opened = datetime(2026, 12, 2, 23, 59, 59, tzinfo=UTC)
    assert store_folder(opened, "flights-7d9f-x2") == "date=2026-12-02/replica=flights-7d9f-x2"
    assert first_store_folder(datetime(2026, 12, 2, 0, 30)) == "date=2026-12-01"
    assert "date=2026-11-30" < first_store_folder(datetime(2026, 12, 2)) < "date=2026-12-02"
    with pytest.raises(ValueError, match="replica name '../up' must start with a letter or digit"):
        replica_name("../up")


def test_shipper_uploads_under_date_and_replica_and_deletes_only_what_it_shipped(tmp_path):
    from core.request_logs import read_location
    from seldon.ship import Shipper

    local, store = tmp_path / "log", tmp_path / "store"
    log = RequestLog(local, max_bytes=300, backups=0, max_seconds=0)
    for index in range(7):
        _write(log, f"s{index}")
    shipper = Shipper(local, store.as_uri(), "r1")
    waiting = closed_segments(local)
    assert shipper.ship_once() == (len(waiting), 0)
    assert not closed_segments(local) and open_segments(local)  # the open one stays
    day = f"date={datetime.now(UTC):%Y-%m-%d}"
    shipped = sorted(p.name for p in (store / day / "replica=r1").iterdir())
    assert shipped == sorted(p.name for p in waiting)
    log.close()
    shipper.ship_once()
    again = store / day / "replica=r1" / shipped[0]
    (local / shipped[0]).write_bytes(again.read_bytes())  # a segment shipped twice (at least once)
    shipper.ship_once()
    now = datetime.now(UTC).replace(tzinfo=None)
    for location in (store.as_uri(), str(store)):
        rows = read_location(location, now.replace(hour=0))[0]
        assert sorted(r["request_id"] for r in rows) == [f"s{i}" for i in range(7)]


def test_shipper_keeps_segments_while_the_store_refuses_them(tmp_path):
    from seldon.ship import Shipper

    local, store = tmp_path / "log", tmp_path / "store"
    log = RequestLog(local, max_bytes=1, backups=0, max_seconds=0)
    for index in range(3):
        _write(log, f"w{index}")
    store.write_text("not a directory")  # every upload fails
    shipper = Shipper(local, store.as_uri(), "r1")
    assert shipper.ship_once() == (0, 3)
    store.unlink()
    assert shipper.ship_once() == (3, 0)
    assert _ids(store) == ["w0", "w1", "w2"]


def test_shipping_defaults_to_the_use_cases_own_location_unless_told(monkeypatch):
    from contract.deployment import SettingsError
    from seldon.ship import default_destination

    monkeypatch.delenv("REQUEST_LOG_URI", raising=False)
    monkeypatch.setenv("REGISTERED_MODEL", "bikes-returned-late")
    assert default_destination() == "experiments:/bikes-returned-late-request-logs/request-logs"
    monkeypatch.setenv("REQUEST_LOG_URI", "s3://bucket/logs")
    assert default_destination() == "s3://bucket/logs"
    monkeypatch.delenv("REQUEST_LOG_URI")
    monkeypatch.delenv("REGISTERED_MODEL")
    with pytest.raises(SettingsError, match="REGISTERED_MODEL is not set"):
        default_destination()
