"""The trees' thread policy comes from one file (images/threads.env) and reaches the Makefile, the
tests, the task image and the serving image unchanged."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from images.threads import THREADS_ENV, thread_policy

ROOT = Path(__file__).resolve().parents[3]
SHOW_ENV = "show-env:\n\t@env\n"


def test_the_policy_file_names_a_policy():
    policy = thread_policy()
    assert policy, f"{THREADS_ENV} sets nothing"
    assert all(re.fullmatch(r"[A-Z_][A-Z0-9_]*", name) for name in policy), policy


def test_a_line_that_is_not_a_setting_is_refused(tmp_path):
    path = tmp_path / "threads.env"
    path.write_text("# comment\n\nGOMP_SPINCOUNT\n")
    with pytest.raises(ValueError, match="expected NAME=value, got 'GOMP_SPINCOUNT'"):
        thread_policy(path)


def test_the_makefile_exports_the_policy():
    env = {name: value for name, value in os.environ.items() if name not in thread_policy()}
    shown = subprocess.run(
        ["make", "-s", "-f", "Makefile", "-f", "-", "show-env"],
        cwd=ROOT,
        input=SHOW_ENV,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    exported = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
    assert {name: exported.get(name) for name in thread_policy()} == thread_policy()


def test_the_tests_run_under_the_policy():
    assert {name: os.environ.get(name) for name in thread_policy()} == thread_policy()


def test_the_task_image_carries_the_policy():
    from images.task_image import task_image_spec

    env = task_image_spec().env or {}
    assert {name: env.get(name) for name in thread_policy()} == thread_policy()


def test_the_serving_image_carries_the_policy():
    dockerfile = (ROOT / "Dockerfile").read_text()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    settings = re.search(r"^ENV (.*?)(?<!\\)$", final_stage, re.MULTILINE | re.DOTALL)
    assert settings is not None, "the serving image's stage has no ENV"
    values = dict(re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", settings.group(1)))
    assert {name: values.get(name) for name in thread_policy()} == thread_policy()
