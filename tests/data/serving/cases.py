"""Turn bad_requests.json (mutations of records.json) into request bodies (JSON text)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

HERE = Path(__file__).parent


def records() -> list[dict]:
    return json.loads((HERE / "records.json").read_text())


def bad_cases() -> list[tuple[str, str, dict]]:
    """(name, body text, expect) for every case; body text because NaN/Infinity are not JSON."""
    out = []
    for case in json.loads((HERE / "bad_requests.json").read_text()):
        out.append((case["name"], build_body(case), case["expect"]))
    return out


def build_body(case: dict) -> str:
    if "body" in case:
        return json.dumps(case["body"])
    rows = copy.deepcopy(records())
    target = case.get("batch_row", 0)
    if target >= 0:
        if "batch_row" not in case:
            rows = rows[:1]
        row = rows[target]
        for name in case.get("drop", []):
            del row[name]
        row.update(case.get("set", {}))
        for name in case.get("raw", {}):
            row[name] = f"__raw_{name}__"
    else:
        rows = []
    if case.get("format") == "ndarray":
        names = list(rows[0]) if rows else list(records()[0])
        body = {"data": {"names": names, "ndarray": [[r[n] for n in names] for r in rows]}}
    else:
        body = {"jsonData": rows if "batch_row" in case else rows[0]}
    text = json.dumps(body)
    for name, literal in case.get("raw", {}).items():
        text = text.replace(f'"__raw_{name}__"', literal)
    return text
