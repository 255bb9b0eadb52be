"""The reach analysis the retries test relies on (`tests/support/service_reach.py`), on a small
source tree: it follows calls across modules and into imports made inside functions, and a type
named only in an annotation calls nothing."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tasks.cache_policy import SourceTree
from tests.support.service_reach import services_reached

MODULES = {
    "app/__init__.py": "",
    "app/store.py": """
        from dataclasses import dataclass


        @dataclass
        class Version:
            number: str


        def client():
            import mlflow

            return mlflow.MlflowClient()


        def register(name):
            return Version(client().create_model_version(name).version)
        """,
    "app/steps.py": """
        from app import store
        from app.store import Version
        from . import metrics as pushed


        def registers(name: str) -> Version:
            return store.register(name)


        def returns_a_version(number: str) -> Version:
            return number


        def pushes() -> None:
            pushed.send()


        def lazily():
            from app.store import client

            return client()


        def pure(rows: int) -> int:
            return rows + 1
        """,
    "app/metrics.py": """
        def send():
            from prometheus_client import push_to_gateway

            push_to_gateway("localhost:9091", job="x", registry=None)
        """,
}


class Function:
    """What services_reached reads of a function: its module and name."""

    def __init__(self, module: str, name: str):
        self.__module__, self.__qualname__ = module, name


def reached(tmp_path: Path, name: str) -> set[str]:
    for file, text in MODULES.items():
        path = tmp_path / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    tree = SourceTree(tmp_path, lambda: tmp_path)
    return services_reached(Function("app.steps", name), tree)


def test_a_call_two_functions_down_into_a_client_library_is_seen(tmp_path):
    assert reached(tmp_path, "registers") == {"mlflow"}


def test_an_import_inside_a_function_and_a_relative_import_are_followed(tmp_path):
    assert reached(tmp_path, "lazily") == {"mlflow"}
    assert reached(tmp_path, "pushes") == {"prometheus_client"}


def test_a_type_in_an_annotation_or_a_pure_function_reaches_nothing(tmp_path):
    assert reached(tmp_path, "returns_a_version") == set()
    assert reached(tmp_path, "pure") == set()
