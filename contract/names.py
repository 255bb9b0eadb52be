"""Names both sides of the contract use: the aliases, the probability output, the metric label
of a class. What a use case names (the registered model, the predicted flag, the truth, the
classes) travels in the bundle (`contract.bundle.OutputSpec`, `Metadata.name`), never here."""

from __future__ import annotations

CHAMPION = "champion"  # the version the server and the batch scoring use
CHALLENGER = "challenger"  # registered, judged, not promoted

PROBABILITY = "probability"  # the model's probability of the positive class


def metric_label(class_name: str) -> str:
    """A class as the value of a metric's `label` (rows predicted of that class): its name with
    each space made `_` (the alert rules generated from the use case say the same)."""
    return class_name.replace(" ", "_")
