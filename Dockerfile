# Serving image: the Seldon v1 Python wrapper running seldon.model.BundleModel.
# Only the serving pins (seldon/requirements.txt) and the contract/, scoring/ and seldon/ packages
# go in; mlflow does not (the registry-sync sidecar runs from the pipeline image).
# Build: docker build -t model-serving .  (the use case comes with the bundle and METRIC_PREFIX)

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY seldon/requirements.txt /tmp/requirements.txt
# --no-deps: the compiled file already lists every transitive pin; nothing else may sneak in
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-deps --requirement /tmp/requirements.txt

FROM python:3.11-slim-bookworm
# OMP_NUM_THREADS=1: one thread per gunicorn worker (docs/serving.md); GOMP_SPINCOUNT: the trees'
# thread policy of images/threads.env, held to it by tests/unit/pipeline/test_thread_policy.py.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OMP_NUM_THREADS=1 \
    GOMP_SPINCOUNT=1000 \
    GUNICORN_WORKERS=2 \
    GRPC_WORKERS=0 \
    MODEL_ROOT=/mnt/models \
    INCLUDE_METRICS_IN_CLIENT_RESPONSE=false
RUN groupadd --gid 10001 seldon \
    && useradd --uid 10001 --gid seldon --no-create-home --shell /usr/sbin/nologin seldon
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# the bundle contract and the predictor, shared with the pipeline (neither imports seldon/)
COPY contract/__init__.py contract/bundle.py contract/deployment.py contract/log_segments.py \
     contract/names.py contract/registry.py contract/request_log.py /app/contract/
COPY scoring/__init__.py scoring/compiled.py scoring/explanation.py scoring/online.py scoring/parity.py \
     scoring/predictor.py scoring/shadow.py scoring/validation.py /app/scoring/
# the operational features' definitions and online store, shared with the pipeline
COPY operational/__init__.py operational/declarations.py operational/definitions.py operational/offline.py \
     operational/store.py \
     /app/operational/
COPY explain/__init__.py explain/treeshap.py /app/explain/
COPY seldon/__init__.py seldon/metrics.py seldon/model.py seldon/openapi.json seldon/openapi.py \
     seldon/pointer.py seldon/serve.py seldon/session.py seldon/settings.py seldon/wrapper_changes.py \
     /app/seldon/
USER 10001:10001
EXPOSE 9000 6000
# The operator sets the ports through PREDICTIVE_UNIT_* variables; the wrapper reads them.
CMD ["python", "-m", "seldon.serve", "seldon.model.BundleModel", "--service-type", "MODEL"]
