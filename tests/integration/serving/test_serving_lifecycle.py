"""Start-up refusal, readiness, admin guard and the hot swap under concurrent load."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
import requests
from serving_support import Server, make_root

from contract.bundle import BundleError, load_bundle
from seldon.pointer import read_pointer, version_dir, write_pointer

pytestmark = pytest.mark.slow
TOKEN = "test-admin-token"


def tamper(bundle_dir):
    model = bundle_dir / "model.skops"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))


def test_tampered_bundle_is_refused_at_load(tmp_path, bundles):
    root = make_root(tmp_path, {"1": bundles["1"]})
    tamper(version_dir(root, "1"))
    with pytest.raises(BundleError, match="does not match metadata.json model_sha256"):
        load_bundle(version_dir(root, "1"))
    server = Server(root, workers=1).start(wait=False)
    try:
        server.process.wait(timeout=90)
    finally:
        server.stop()
    assert server.process.returncode != 0
    assert "does not match metadata.json model_sha256" in server.log()
    assert "refusing to load it" in server.log()


def test_not_ready_until_a_bundle_is_published(tmp_path, bundles, july_records):
    root = tmp_path / "model-root"
    root.mkdir()
    server = Server(root, workers=1).start(wait=False)
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status != 503:
            try:
                status = requests.get(f"{server.url}/health/status", timeout=2).status_code
            except requests.RequestException:
                time.sleep(0.3)
        assert status == 503, server.log()
        assert server.predict({"jsonData": july_records[0]}).status_code == 503
        shutil.copytree(bundles["1"], version_dir(root, "1"))
        write_pointer(root, "1")
        server.wait_ready(timeout=30)
        assert server.predict({"jsonData": july_records[0]}).status_code == 200
    finally:
        server.stop()


def _authorized() -> dict:
    return {"Authorization": f"Bearer {TOKEN}"}


def check_admin_refusals(server, root, bundles) -> None:
    """Without the token, to a tampered version, or to any name outside versions/: refused,
    and the pointer is never written."""
    admin = f"{server.url}/admin/pointer"
    pointer_before = read_pointer(root)
    assert requests.post(admin, json={"version": "2"}, timeout=5).status_code == 403
    bad = requests.post(admin, json={"version": "9"}, timeout=5, headers=_authorized())
    assert bad.status_code == 409 and "does not match" in bad.json()["status"]["info"]
    assert read_pointer(root)["version"] == "1"
    for name in ["../versions/2", str(bundles["2"]), "..", "2/", "2\n", "../../x"]:
        escaped = requests.post(admin, json={"version": name}, timeout=5, headers=_authorized())
        assert escaped.status_code == 400, (name, escaped.text)
        status = escaped.json()["status"]
        assert (status["field"], status["rule"]) == ("version", "version_name")
        assert "not a version name" in status["info"]
    assert read_pointer(root) == pointer_before  # no path outside versions/ was ever written
    listed = requests.get(f"{server.url}/admin/versions", timeout=5, headers=_authorized()).json()
    assert listed["versions"] == ["1", "2", "9"] and listed["this_worker_serves"] == "1"


def load_around(server, records, action, before: float = 3, total: float = 11):
    """8 clients predict in a loop for `total` seconds; `action` runs after `before` seconds.
    Returns [(time, status, served version)], the transport errors and when the action ended."""
    results: list[tuple[float, int, str]] = []
    errors: list[str] = []
    stop = threading.Event()

    def client(offset: int) -> None:
        session = requests.Session()
        index = offset
        while not stop.is_set():
            record = records[index % len(records)]
            index += 8
            try:
                response = session.post(
                    f"{server.url}/api/v1.0/predictions", json={"jsonData": record}, timeout=10
                )
                version = response.json()["meta"]["tags"]["model_version"] if response.ok else ""
                results.append((time.monotonic(), response.status_code, version))
            except Exception as exc:  # any transport failure is a failed request
                errors.append(repr(exc))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    started = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        time.sleep(before)
        action()
        acted_at = time.monotonic()
        time.sleep(max(0.0, total - (time.monotonic() - started)))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
    return results, errors, acted_at


def test_hot_swap_under_load_fails_no_request(tmp_path, bundles, july_records):
    root = make_root(tmp_path, bundles, current="1")
    shutil.copytree(bundles["1"], version_dir(root, "9"))
    tamper(version_dir(root, "9"))
    server = Server(root, env={"ADMIN_TOKEN": TOKEN}).start()

    def move_to_2() -> None:
        moved = requests.post(
            f"{server.url}/admin/pointer", json={"version": "2"}, timeout=10, headers=_authorized()
        )
        assert moved.status_code == 200, moved.text

    try:
        check_admin_refusals(server, root, bundles)
        results, errors, swapped_at = load_around(server, july_records, move_to_2)
    finally:
        server.stop()

    assert not errors, errors[:3]
    failed = [r for r in results if r[1] != 200]
    assert not failed, failed[:3]
    assert len(results) > 200
    before = {v for t, _, v in results if t < swapped_at}
    settled = [v for t, _, v in results if t > swapped_at + 3]  # poll 0.5 s + load + warm-up
    assert before == {"1"}
    assert settled and set(settled) == {"2"}, sorted(set(settled))
    assert read_pointer(root)["version"] == "2"
