"""Names both sides of the contract use: the registered model, its aliases, the outputs."""

from __future__ import annotations

MODEL_NAME = "flights-late-arrival"

CHAMPION = "champion"  # the version the server and the batch scoring use
CHALLENGER = "challenger"  # registered, judged, not promoted

PROBABILITY = "probability"  # the model's probability of a late arrival
PREDICTED = "predicted_late"  # 1 when probability >= the bundle's threshold, else 0
TRUTH = "late"  # what happened (arrival 15+ minutes late, cancelled or diverted), once known
OUTPUT_NAMES = (PROBABILITY, PREDICTED)
