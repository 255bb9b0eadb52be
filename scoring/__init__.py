"""Scoring a bundle: request validation, the category encoding, the compiled one-row path and
the vectorised path, the threshold. Imports `contract`, never `core` or `seldon`; needs numpy,
and scikit-learn / treelite for the model it loads."""
