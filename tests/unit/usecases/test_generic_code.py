"""Generic code names no use case: outside `usecases/<name>/` (and files generated for one use
case, which carry its name in their path), no product file names a use case's columns, label,
model, predicted flag or metric prefix.

The vocabulary comes from each declaration, so a new use case is guarded the day it lands.
Ordinary English words that happen to be column names (`day`, `origin`, `late` ...) are left
out: in generic code they mean what they say; the names a port would have to hunt for are the
distinctive ones (`sched_dep`, `carrier`, `flights_`, `FlightsLate`...).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

import usecases
from tests.support import REPO

# Product code: everything a user deploys or runs, tests, docs and benchmarks aside.
PRODUCT = (
    "contract",
    "core",
    "explain",
    "images",
    "launchplans",
    "operational",
    "scoring",
    "scripts",
    "seldon",
    "tasks",
    "workflows",
    "deploy",
    "pyproject.toml",
)
GENERATED_SUFFIXES = (".lock",)
# What builds and delivers the product, and the generic modules of `usecases/` itself (its
# `__init__` names the default use case: the one place that does).
DELIVERY = (
    "Makefile",
    "Dockerfile",
    ".github",
    ".ci",
    ":(glob)usecases/*.py",
    ":(exclude)usecases/__init__.py",
)
# The distribution's own name and description, and the requirements exported from its lock.
PROJECT_METADATA = {"pyproject.toml", "images/requirements.txt"}
ENGLISH = {
    "day",
    "hour",
    "minute",
    "month",
    "year",
    "late",
    "origin",
    "distance",
    "temp",
    "pressure",
    "seats",
    "flight",
    "precip",
    "dest",
    "humid",
    "key",
    "label",
    "time",
    "date",
    "station",
    "observed",
}
# Generic files that still name a use case, while issue 29 moves them behind the declaration: the
# test fails when a file not listed here names one, and when a listed file no longer does (the
# list only shrinks; it is empty when the boundary holds).
NOT_YET_GENERIC: set[str] = set()


def vocabulary(case: usecases.UseCase) -> set[str]:
    columns = set(case.raw_schema.to_schema().columns) | set(case.feature_schema.to_schema().columns)
    words = columns | {case.key, case.timestamp, case.label, case.model_name, case.predicted}
    if case.online is not None:
        words |= {case.online.time, *case.online.entities, *case.online.features}
    words = {w for w in words if w.lower() not in ENGLISH}
    title = case.metric_prefix.title().replace("_", "")
    return words | {f"{case.metric_prefix}_", f"{case.metric_prefix}:", title}


def product_files(*where: str) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *(where or PRODUCT)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [REPO / name for name in listed if not name.endswith(GENERATED_SUFFIXES)]


def offences(case: usecases.UseCase) -> dict[str, list[str]]:
    words = vocabulary(case)
    pattern = re.compile(
        "|".join(
            rf"(?<![A-Za-z0-9]){re.escape(w)}" + ("" if w[-1] in "_:" else r"(?![a-z0-9_])")
            for w in sorted(words, key=len, reverse=True)
        )
    )
    found: dict[str, list[str]] = {}
    for path in product_files():
        relative = path.relative_to(REPO)
        if case.name in relative.parts or case.name.replace("-", "_") in relative.parts:
            continue  # generated for this use case (its rules, dashboard, overlay)
        try:
            text = path.read_text()
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        hits = sorted(set(pattern.findall(text)))
        if hits:
            found[str(relative)] = hits
    return found


@pytest.mark.parametrize("name", usecases.available())
def test_no_generic_file_names_a_use_case(name):
    found = {path: hits for path, hits in offences(usecases.load(name)).items()}
    new = {path: hits for path, hits in found.items() if path not in NOT_YET_GENERIC}
    assert not new, f"generic files naming use case '{name}':\n" + "\n".join(
        f"  {path}: {', '.join(hits)}" for path, hits in sorted(new.items())
    )


def test_the_list_of_files_not_yet_generic_only_shrinks():
    found: set[str] = set()
    for name in usecases.available():
        found |= set(offences(usecases.load(name)))
    fixed = sorted(set(NOT_YET_GENERIC) - found)
    assert not fixed, f"now generic, remove from NOT_YET_GENERIC: {fixed}"


def name_pattern(case: usecases.UseCase) -> re.Pattern[str]:
    """The use case's name as a word, in any case, and for a plural name its singular too (a
    generic docstring's "in-flight" request reads as the flights use case's)."""
    names = {case.name, case.name.replace("-", "_")}
    names |= {n[:-1] for n in names if n.endswith("s")}
    words = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{words})(?![A-Za-z0-9])", re.IGNORECASE)


def files_naming(case: usecases.UseCase) -> set[str]:
    """Generic files (product and delivery) that name `case` by its name."""
    found = set()
    own = {case.name, case.name.replace("-", "_")}
    for path in product_files(*PRODUCT, *DELIVERY):
        relative = path.relative_to(REPO)
        if str(relative) in PROJECT_METADATA or own & set(relative.parts):
            continue  # the distribution's metadata, or generated for this use case
        try:
            if name_pattern(case).search(path.read_text()):
                found.add(str(relative))
        except (UnicodeDecodeError, FileNotFoundError):
            continue
    return found


def test_no_generic_file_names_one_use_case_by_name():
    """The default use case is named in one place (`usecases.DEFAULT`; the Makefile reads it
    there) and images follow `USE_CASE`: a generic file names a use case only in a list of every
    use case (CI's matrices, the Flyte projects the chart seeds), which tests hold to
    `usecases.available()`."""
    cases = [usecases.load(name) for name in usecases.available()]
    naming = {case.name: files_naming(case) for case in cases}
    every = set.intersection(*naming.values())
    alone = {path: name for name, paths in naming.items() for path in sorted(paths - every)}
    assert not alone, "generic files naming one use case:\n" + "\n".join(
        f"  {path}: {name}" for path, name in sorted(alone.items())
    )


@pytest.mark.parametrize("chosen", [None, *usecases.available()])
def test_make_package_names_the_task_image_of_the_use_case_chosen_or_the_default(chosen):
    """`make package USE_CASE=<name>` packages for `<name>-tasks`; without USE_CASE, for the task
    image of `usecases.DEFAULT` (the Makefile reads the default there)."""
    setting = [] if chosen is None else [f"USE_CASE={chosen}"]
    env = {k: v for k, v in os.environ.items() if k not in ("USE_CASE", "PACKAGE_IMAGE", usecases.ENV)}
    printed = subprocess.run(
        ["make", "-n", "--no-print-directory", "package", *setting],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    name = chosen or usecases.DEFAULT
    assert f"--image ghcr.io/example/{name}-tasks:dev " in printed
