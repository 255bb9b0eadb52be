"""One gunicorn worker's serving session: the served predictor, its metrics, its request log.

`count` is the one place a request is counted: the adapter's after-request hook calls it once for
every predict or explain answer Flask writes (the model's, the wrapper's, an error handler's), and
the request guard once for every request it refuses before Flask sees it; no request passes both.

A request holds the predictor it started with (`served()` reads one reference): the pointer
watcher swaps it atomically, so in-flight requests finish on the old bundle. `predict` runs the
scorer's steps in the open, check then score, so that per-request inputs joined to the checked
columns, or a second predictor scored on the same columns, sit between the two.
"""

from __future__ import annotations

import logging
import threading

from contract.bundle import load_bundle
from contract.request_log import RequestLog, request_json, segment_options
from operational.store import OnlineStore
from scoring.explanation import BundleExplainer
from scoring.predictor import Prediction, Predictor
from scoring.validation import RequestError
from seldon.metrics import ServingMetrics
from seldon.pointer import PointerWatcher, pointed_dir, read_pointer
from seldon.settings import Settings

PREDICT = "predict"
EXPLAIN = "explain"

logger = logging.getLogger(__name__)


class Session:
    """Made in the worker by `load()`, never in the gunicorn master: the metrics' per-process
    gauge files would otherwise outlive the fork as a stale series."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = ServingMetrics()
        self.champion: Predictor | None = None
        url = settings.online_store_url  # a client per worker: the session is made after the fork
        self.online_store = OnlineStore.from_url(url) if url else None
        self.request_log = (
            RequestLog(
                settings.request_log_dir,
                on_failure=self.metrics.request_log_failed,  # a full disk never fails a prediction
                **segment_options(settings.request_log_max_bytes),  # and the segment limits' env
            )
            if settings.request_log_dir
            else None
        )
        self._explainer: BundleExplainer | None = None
        self._explainer_lock = threading.Lock()
        # the watcher notes the pointer's state first: a flip during the first load is not missed
        self.watcher = PointerWatcher(settings.model_root, self._on_pointer, settings.poll_seconds)

    def start(self) -> None:
        """Serve what the pointer names (a bundle that fails its checks stops the worker), then
        follow the pointer."""
        root = self.settings.model_root
        pointer = read_pointer(root)
        if pointer is None:
            logger.warning("no %s/current.json yet: not ready until the sync writes one", root)
        else:
            self.activate(pointer)
        self.watcher.start()

    def activate(self, pointer: dict) -> None:
        bundle = load_bundle(pointed_dir(self.settings.model_root, pointer))
        settings = self.settings
        store = self.online_store
        champion = Predictor(bundle, settings.max_batch_rows, settings.compiled_max_rows, online_store=store)
        champion.warm_up()  # the first real request pays no lazy init
        previous = self.champion
        self.champion = champion  # one reference assignment: atomic for every thread
        self.metrics.model_loaded(bundle.metadata, previous.bundle.metadata if previous else None)
        logger.info(
            "serving %s version %s from %s (compiled trees: %s)",
            champion.name,
            champion.version,
            bundle.path,
            "yes" if champion.compiled is not None else "no",
        )

    def _on_pointer(self, pointer: dict) -> None:
        if self.champion is not None and self.champion.version == str(pointer.get("version")):
            return
        try:
            self.activate(pointer)
        except Exception:
            self.metrics.swap_failed()
            raise

    def served(self) -> Predictor:
        champion = self.champion
        if champion is None:
            raise RequestError("no model loaded yet", None, "not_loaded", status_code=503)
        return champion

    def predict(self, body: object, request_id: str, raw: bytes | None) -> tuple[Predictor, Prediction]:
        champion = self.served()
        checked = champion.check(body)
        prediction = champion.predict_checked(checked)
        probability = prediction.probability.tolist()
        if self.request_log is not None:
            self.request_log.write(
                request_id,
                champion.name,
                champion.version,
                request_json(body, raw),
                probability,
                prediction.predicted_late.tolist(),
                prediction.unknown_categories,
                prediction.online.logged() if prediction.online else None,
            )
        missing = prediction.online.counts if prediction.online else None
        self.metrics.predicted(
            prediction.probability, prediction.predicted_late, prediction.unknown_categories, missing
        )
        return champion, prediction

    def explain(self, body: object) -> tuple[Predictor, dict]:
        champion = self.served()
        with self._explainer_lock:  # one build per bundle, even when requests arrive together
            if self._explainer is None or self._explainer.predictor is not champion:
                self._explainer = BundleExplainer(champion, self.settings.max_explain_rows)
            explainer = self._explainer
        data, flags = explainer.explain(body)
        self.metrics.explained(flags)
        return champion, data

    def feedback(self, truth: list[int], predicted: list[int]) -> int:
        if len(truth) != len(predicted):
            raise RequestError(
                f"feedback has {len(truth)} truth values for {len(predicted)} predictions",
                "truth",
                "feedback",
            )
        correct = sum(int(t == p) for t, p in zip(truth, predicted, strict=True))
        self.metrics.feedback(len(truth), correct)
        return correct

    def count(self, kind: str, status: int, seconds: float, rule: str | None = None) -> None:
        """Count one answered predict or explain request: ok below 400; a 5xx naming no rule is an
        error; any other failure is rejected, by its rule (`bad_data` when it names none)."""
        if status < 400:
            outcome, reason = "ok", None
        elif status >= 500 and rule is None:
            outcome, reason = "error", None
        else:
            outcome, reason = "rejected", rule or "bad_data"
        if kind == PREDICT:
            self.metrics.request(outcome, seconds, reason)
        elif kind == EXPLAIN:
            self.metrics.explain_request(outcome, seconds, reason)
