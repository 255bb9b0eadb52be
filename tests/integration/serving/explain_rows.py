"""Run in either environment: explain rows with a bundle's model and print what the test compares.

    python tests/integration/serving/explain_rows.py BUNDLE_DIR ROWS.json

Prints one JSON object: the base value, each row's contributions, the model's own raw score
(`decision_function`) and probability, and whether flask was imported along the way.
"""

from __future__ import annotations

import json
import sys

import pandas as pd

from contract.bundle import load_bundle
from explain import TreeExplainer


def main(bundle_dir: str, rows_path: str) -> None:
    bundle = load_bundle(bundle_dir)
    records = json.loads(open(rows_path).read())
    frame = pd.DataFrame.from_records(records)
    for spec in bundle.schema.features:
        if spec.kind == "number":
            frame[spec.name] = frame[spec.name].astype(float)
    names = bundle.schema.names
    explained = TreeExplainer.from_pipeline(bundle.model).explain(frame[names])
    print(
        json.dumps(
            {
                "feature_names": list(explained.feature_names),
                "base_value": explained.base_value,
                "contributions": explained.contributions.tolist(),
                "raw": bundle.model.decision_function(frame[names]).tolist(),
                "probability": bundle.model.predict_proba(frame[names])[:, 1].tolist(),
                "flask_imported": "flask" in sys.modules,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
