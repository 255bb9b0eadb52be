"""Exact per-prediction explanations, importable by the pipeline and the serving environment alike
(numpy only: neither core/ nor seldon/ is imported)."""

from explain.treeshap import Explanation, TreeExplainer, ranked_contributions

__all__ = ["Explanation", "TreeExplainer", "ranked_contributions"]
