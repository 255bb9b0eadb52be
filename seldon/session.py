"""One gunicorn worker's serving session: the served predictor, its metrics, its request log.

A request holds the predictor it started with (`served()` reads one reference): the pointer
watcher swaps it atomically, so outstanding requests finish on the old bundle. `predict` runs the
scorer's steps in the open, check then score, so that per-request inputs joined to the checked
columns, or a second predictor scored on the same columns, sit between the two.

With a request log (its only output) and challenger.json (the sync's `--shadow-alias`), the
worker also queues the checked columns of a `shadow_share` of requests (chosen by request id) for
that bundle, which scores them in batches after the answer is sent (`scoring.shadow`), and logs
its probabilities beside the champion's. Above `shadow_max_rows` rows, or when it fails to load
or score, the challenger is skipped and counted: it never fails a prediction.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Callable

from contract.bundle import load_bundle
from contract.request_log import RequestLog, request_json, segment_options
from operational.store import OnlineStore
from scoring.explanation import BundleExplainer
from scoring.predictor import Prediction, Predictor
from scoring.shadow import ShadowQueue
from scoring.validation import RequestError
from seldon.metrics import ServingMetrics
from seldon.pointer import CHALLENGER_POINTER_FILE, PointerWatcher, pointed_dir, read_pointer
from seldon.settings import Settings

Defer = Callable[[Callable[[], None]], None]  # runs the work it is given later (after the answer)

logger = logging.getLogger(__name__)


class Session:
    """Made in the worker by `load()`, never in the gunicorn master: the metrics' per-process
    gauge files would otherwise outlive the fork as a stale series."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = ServingMetrics(settings.metric_prefix)
        self.champion: Predictor | None = None
        self.challenger: Predictor | None = None  # scored in shadow, never answered
        url = settings.online_store_url  # a client per worker: the session is made after the fork
        self.online_store = OnlineStore.from_url(url) if url else None
        log_dir, log_options = settings.request_log_dir, segment_options(settings.request_log_max_bytes)
        failed = self.metrics.request_log_failed  # a full disk never fails a prediction: counted
        self.request_log = RequestLog(log_dir, on_failure=failed, **log_options) if log_dir else None
        self.shadow = (
            ShadowQueue(
                self.request_log.write_shadow,
                self.metrics.shadow,
                settings.shadow_max_rows,
                settings.shadow_batch_rows,
                settings.shadow_batch_seconds,
            )
            if self.request_log is not None
            else None
        )
        self._explainer: BundleExplainer | None = None
        self._explainer_lock = threading.Lock()
        # the watcher notes the pointer's state first: a flip during the first load is not missed
        root, poll = settings.model_root, settings.model_poll_seconds
        self.watcher = PointerWatcher(root, self._on_pointer, poll)
        self.challenger_watcher = PointerWatcher(root, self._on_challenger, poll, CHALLENGER_POINTER_FILE)

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
        if self.request_log is not None:  # without a log the challenger's scores go nowhere
            challenger = read_pointer(root, CHALLENGER_POINTER_FILE)
            if challenger is not None:
                self._on_challenger(challenger)
            self.challenger_watcher.start()

    def activate(self, pointer: dict) -> None:
        champion, previous = self._predictor(pointer), self.champion
        self.metrics.classes(champion.output.row_labels)  # before any request can be counted with it
        self.champion = champion  # one reference assignment: atomic for every thread
        self.metrics.model_loaded(champion.bundle.metadata, previous.bundle.metadata if previous else None)
        path, compiled = champion.bundle.path, champion.compiled is not None
        logger.info("serving version %s from %s (compiled: %s)", champion.version, path, compiled)

    def _on_pointer(self, pointer: dict) -> None:
        if self.champion is not None and self.champion.version == str(pointer.get("version")):
            return
        try:
            self.activate(pointer)
        except Exception:
            self.metrics.swap_failed()
            raise

    def _predictor(self, pointer: dict) -> Predictor:
        s, bundle = self.settings, load_bundle(pointed_dir(self.settings.model_root, pointer))
        predictor = Predictor(bundle, s.max_batch_rows, s.compiled_max_rows, online_store=self.online_store)
        predictor.warm_up()  # the first real request pays no lazy init
        return predictor

    def _on_challenger(self, pointer: dict | None) -> None:
        """Shadow what challenger.json names (none when it goes); a bundle that fails its checks
        is counted, never raised."""
        if pointer is None:
            self.challenger = None
            return
        if self.challenger is not None and self.challenger.version == str(pointer.get("version")):
            return
        try:
            self.challenger = self._predictor(pointer)
        except Exception:
            self.metrics.shadow("load_failed")
            logger.exception("challenger %s not loaded: still shadowing %s", pointer, self.challenger)
            return
        logger.info("challenger version %s scored in shadow", self.challenger.version)

    def served(self) -> Predictor:
        champion = self.champion
        if champion is None:
            raise RequestError("no model loaded yet", None, "not_loaded", status_code=503)
        return champion

    def predict(
        self, body: object, request_id: str, raw: bytes | None, defer: Defer | None = None
    ) -> tuple[Predictor, Prediction]:
        """Check, score, count; log the request, with the challenger's scores when one is served
        (`defer(work)`, when given, runs that part after the answer is sent)."""
        champion = self.served()
        checked = champion.check(body)
        prediction = champion.predict_checked(checked)
        missing = prediction.online.counts if prediction.online else None
        self.metrics.predicted(
            prediction.probability, prediction.predicted, prediction.unknown_categories, missing
        )
        request_log, challenger = self.request_log, self.challenger
        if request_log is None:
            return champion, prediction
        request_log.write(
            request_id,
            champion.name,
            champion.version,
            request_json(body, raw),
            prediction.probability.tolist(),
            prediction.predicted.tolist(),
            prediction.unknown_categories,
            prediction.online.logged() if prediction.online else None,
        )
        shadow = self.shadow
        if challenger is None or shadow is None or not shadowed(request_id, self.settings.shadow_share):
            return champion, prediction
        if shadow.add(challenger, request_id, checked):  # a batch is due: score it after the answer
            if defer is None:
                shadow.flush()
            else:
                defer(shadow.flush)
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

    def feedback(self, truth: list[int], predicted: list[int], request_id: str | None = None) -> int:
        """Count the hits; log the truth under the request's id (the online gate's labels)."""
        if len(truth) != len(predicted):
            message = f"feedback has {len(truth)} truth values for {len(predicted)} predictions"
            raise RequestError(message, "truth", "feedback")
        correct = sum(int(t == p) for t, p in zip(truth, predicted, strict=True))
        self.metrics.feedback(len(truth), correct)
        if self.request_log is not None and request_id:
            self.request_log.write_feedback(request_id, truth)
        return correct


def shadowed(request_id: str, share: float) -> bool:
    """Whether the challenger scores this request: the same answer for an id in every worker."""
    return zlib.crc32(request_id.encode()) % 10_000 < share * 10_000
