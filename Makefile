# One entry point. Every target creates what it needs on a fresh machine (Python 3.11 + pip).
SHELL := /bin/bash
PYTHON ?= python3.11
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.8
VENV := .venv
SERVING_VENV := .venv-serving
export UV_PYTHON_DOWNLOADS := never
# Every environment is installed with its bytecode compiled (as flytekit's ImageSpec builder does
# for the task image): a process that may not write `__pycache__` (PYTHONDONTWRITEBYTECODE, a
# read-only tree) would otherwise compile flytekit, mlflow and SQLAlchemy from source at each start.
export UV_COMPILE_BYTECODE := 1
# The trees' OpenMP thread policy, one file for the Makefile, the tests and both images
# (docs/performance.md, "Thread policy"); `make VAR=value` overrides it.
include images/threads.env
export $(shell sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' images/threads.env)
export UV_PROJECT_ENVIRONMENT := $(VENV)
# The use case every target runs (a package under usecases/): make demo USE_CASE=<name>. The
# default is the one usecases/__init__.py declares (`DEFAULT`), read here without Python.
USE_CASE ?= $(shell sed -n 's/^DEFAULT = "\(.*\)"$$/\1/p' usecases/__init__.py)
export MLOPS_USE_CASE := $(USE_CASE)

.PHONY: setup setup-serving setup-system demo serve test test-fast lint bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# Pipeline environment: pyproject.toml + uv.lock (flytekit, mlflow, pandera, scikit-learn ...).
$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

# Serving environment: seldon/requirements.txt (seldon-core 1.17.1, same scikit-learn pin).
$(SERVING_VENV)/.synced: $(UV) seldon/requirements.txt
	$(UV) venv --allow-existing --python $(PYTHON) $(SERVING_VENV)
	$(UV) pip sync --python $(SERVING_VENV)/bin/python seldon/requirements.txt
	touch $@

setup: $(VENV)/.synced

setup-serving: $(SERVING_VENV)/.synced

lock:
	$(UV) lock
	$(UV) export --frozen --no-dev --no-hashes --no-emit-project -o images/requirements.txt
	$(UV) pip compile seldon/requirements.in --override seldon/overrides.txt --python-version 3.11 -o seldon/requirements.txt

# Cached registrations refer to the MLflow store: the Flyte local cache goes with it.
clean:
	-[ -x $(VENV)/bin/pyflyte ] && $(VENV)/bin/pyflyte local-cache clear
	rm -rf $(TOOLS) $(VENV) $(SERVING_VENV) .mlops

# ---- Serving -------------------------------------------------------------------------------
.PHONY: setup-mlserver setup-wrk bench-serving test-serving
MLSERVER_VENV := .venv-mlserver
SERVE_DIR ?= .mlops/serving
HTTP_PORT ?= 9000
METRICS_PORT ?= 6000
WORKERS ?= 2

# Prometheus and promtool (alert rule tests, scrape tests), the Pushgateway (monitoring metrics),
# Alertmanager and amtool (deploy/alertmanager/alertmanager.yml: its checks, route tests and a
# notification test) and redis-server (the online store of the operational features, with the two
# libraries it links), Debian's binaries unpacked into .tools/system: nothing is installed
# system-wide, no service is enabled or started. wrk (serving benchmark only) is a Debian package
# without a service.
SYSTEM := $(TOOLS)/system
SYSTEM_PACKAGES := prometheus prometheus-pushgateway prometheus-alertmanager redis-server redis-tools libjemalloc2 liblzf1
# The stamp names the package list: a package added to it is unpacked on the next setup.
SYSTEM_STAMP := $(SYSTEM)/.unpacked-$(shell echo $(SYSTEM_PACKAGES) | cksum | cut -d' ' -f1)

$(SYSTEM_STAMP): scripts/debian_tools.sh
	scripts/debian_tools.sh $(SYSTEM) $(SYSTEM_PACKAGES)
	touch $@

setup-system: $(SYSTEM_STAMP)

setup-wrk:
	@command -v wrk >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; }

# Peer server for the serving benchmark only (never part of the serving image).
$(MLSERVER_VENV)/.synced: $(UV)
	$(UV) venv --allow-existing --python $(PYTHON) $(MLSERVER_VENV)
	$(UV) pip install --python $(MLSERVER_VENV)/bin/python mlserver==1.7.1 mlserver-sklearn==1.7.1 \
		scikit-learn==1.9.1 skops==0.16.0 "numpy<2" "pandas>=2.2,<3" "uvloop<0.22"
	touch $@

setup-mlserver: $(MLSERVER_VENV)/.synced

# What a deployment of USE_CASE tells the serving processes, from its declaration
# (contract/deployment.py): `export $$($(DEPLOYMENT_NAMES))` in a recipe.
DEPLOYMENT_NAMES = PYTHONPATH=. $(VENV)/bin/python -c 'import usecases; c = usecases.current(); \
	print(f"REGISTERED_MODEL={c.model_name} METRIC_PREFIX={c.metric_prefix}")'

# Resolve the use case's champion in the registry, keep following it, serve it on 127.0.0.1, with
# the online store (redis-server on 127.0.0.1:$(REDIS_PORT), nothing persisted) beside it.
REDIS_PORT ?= 6379
serve: $(VENV)/.synced $(SERVING_VENV)/.synced setup-system
	@set -e; names=$$($(DEPLOYMENT_NAMES)); export $$names; \
	PYTHONPATH=. $(VENV)/bin/python -m seldon.sync --root $(SERVE_DIR) --once; \
	mkdir -p $(SERVE_DIR)/redis; scripts/redis_server.sh $(REDIS_PORT) $(SERVE_DIR)/redis & redis_pid=$$!; \
	PYTHONPATH=. $(VENV)/bin/python -m seldon.sync --root $(SERVE_DIR) & sync_pid=$$!; \
	PYTHONPATH=. $(VENV)/bin/python -m seldon.ship --dir $(SERVE_DIR)/request-log & ship_pid=$$!; \
	trap 'kill $$sync_pid $$redis_pid $$ship_pid 2>/dev/null' EXIT INT TERM; \
	PYTHONPATH=. OMP_NUM_THREADS=1 MODEL_ROOT=$(SERVE_DIR) REQUEST_LOG_DIR=$(SERVE_DIR)/request-log \
	ONLINE_STORE_URL=redis://127.0.0.1:$(REDIS_PORT)/0 \
	REQUEST_LOG_SEGMENT_SECONDS=60 REQUEST_LOG_KEEP_SEGMENTS=0 \
	SERVING_BIND_HOST=127.0.0.1 $(SERVING_VENV)/bin/python -m seldon.serve seldon.model.BundleModel \
		--workers $(WORKERS) --grpc-workers 0 --http-port $(HTTP_PORT) --metrics-port $(METRICS_PORT)

# Feed the online store `make serve` started with the use case's events of a day of its source.
.PHONY: feed-events bench-online-store
DAY ?= 2013-06-14
feed-events: $(VENV)/.synced
	$(VENV)/bin/python -m scripts.feed_events --day $(DAY) --url redis://127.0.0.1:$(REDIS_PORT)/0

# Ingestion of the busiest 2013 day and one row's lookup on a loopback redis-server.
bench-online-store: setup-system $(VENV)/.synced
	PYTHONPATH=. $(VENV)/bin/python benchmarks/online_store.py

# Soak: 10 minutes at a fixed rate with a hot swap every minute (errors, p99 per minute, RSS).
.PHONY: bench-soak
bench-soak: $(VENV)/.synced $(SERVING_VENV)/.synced
	PYTHONPATH=. $(VENV)/bin/python benchmarks/soak.py

# Roll every replica back (or forward): move the registry alias the sync sidecars follow.
.PHONY: rollback
rollback: $(VENV)/.synced
	@test -n "$(VERSION)" || { echo "usage: make rollback VERSION=<registry version> [REASON=...]"; exit 2; }
	@set -e; names=$$($(DEPLOYMENT_NAMES)); export $$names; \
	PYTHONPATH=. $(VENV)/bin/python -m seldon.rollback --to "$(VERSION)" --reason "$(REASON)"

# Rebuild a registered version from the frames and hyperparameters it records: same sha256 or fail.
.PHONY: reproduce
reproduce: $(VENV)/.synced
	@test -n "$(VERSION)" || { echo "usage: make reproduce VERSION=<registry version>"; exit 2; }
	$(VENV)/bin/pyflyte run workflows/reproduce.py reproduce_workflow --version "$(VERSION)"

bench-serving: setup-system setup-wrk $(VENV)/.synced $(SERVING_VENV)/.synced $(MLSERVER_VENV)/.synced
	PYTHONPATH=. $(VENV)/bin/python benchmarks/serving.py
	PYTHONPATH=. $(VENV)/bin/python benchmarks/serving_online_store.py
	PYTHONPATH=. $(VENV)/bin/python benchmarks/serving_shadow.py

# The main command: train with as_of 2013-07-01 then 2013-08-01 and print the outcome.
# A new use case from one table (docs/new-use-case.md): writes usecases/<NAME>/, which the whole
# loop runs as it is, and its manifests (seldon/k8s/usecases/<NAME>/, as make manifests makes
# them); every choice made for you is marked REVIEW: in its files.
.PHONY: new-use-case
new-use-case: $(VENV)/.synced
	@test -n "$(NAME)" -a -n "$(CSV)" -a -n "$(TIME)" -a -n "$(LABEL)" || { echo "usage: make new-use-case \
	NAME=<name> CSV=<table.csv|.parquet> TIME=<event time column> LABEL=<outcome column> \
	[POSITIVE=<positive label value>] [KEY=<event id column>] [ENTITY=<column>] [MATURITY_HOURS=<h>]"; exit 2; }
	$(VENV)/bin/python -m scripts.new_use_case --name "$(NAME)" --csv "$(CSV)" --time "$(TIME)" \
		--label "$(LABEL)" $(if $(POSITIVE),--positive "$(POSITIVE)") $(if $(KEY),--key "$(KEY)") \
		$(if $(ENTITY),--entity "$(ENTITY)") --maturity-hours "$(or $(MATURITY_HOURS),0)"

demo: $(VENV)/.synced
	$(VENV)/bin/python -m scripts.demo

# Unit, integration and end-to-end tests (installs what they need first); CI runs this one.
# Two pytest workers (pytest-xdist), a test file to one worker (its module fixtures made once), and
# files sharing a costly session fixture to one worker (tests/support/scheduling.py):
# alone the suite keeps about one of two cores busy (its tests wait on servers and on `pyflyte run`
# subprocesses). Each worker has its own session dir (HOME, MLOPS_DATA_DIR: tests/conftest.py),
# servers on ports of their own; the serving tests' bundles are trained once and shared.
TEST_WORKERS ?= 2
test: $(VENV)/.synced $(SERVING_VENV)/.synced setup-system
	$(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# The fast tier: tests/unit only (no server, no workflow run), for every change.
test-fast: $(VENV)/.synced $(SERVING_VENV)/.synced setup-system
	$(VENV)/bin/python -m pytest -q -m unit

lint: $(VENV)/.synced
	@# The tools and the serving environment are made on each machine: a commit that tracks them
	@# (a worktree's links) replaces a checkout's real directories on merge.
	@test -z "$$(git ls-files $(TOOLS) $(SERVING_VENV) $(VENV))" || { echo "tracked: $$(git ls-files $(TOOLS) $(SERVING_VENV) $(VENV))"; exit 1; }
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy usecases contract operational scoring core explain tasks workflows launchplans images scripts seldon

# The serving tests alone (they need promtool, prometheus and both environments).
test-serving: setup-system $(VENV)/.synced $(SERVING_VENV)/.synced
	PYTHONPATH=. $(VENV)/bin/python -m pytest tests/unit/serving tests/integration/serving

# Each use case's alert and recording rules, Grafana dashboard and kustomize component and
# overlays, generated from its declaration into seldon/k8s/usecases/<name>/ (committed).
.PHONY: manifests dashboard
manifests dashboard: $(VENV)/.synced
	$(VENV)/bin/python seldon/k8s/generate.py

bench-pipeline: $(VENV)/.synced
	$(VENV)/bin/python benchmarks/pipeline.py

# The trees' thread policy candidates side by side on train_model's fit, alone and under load.
.PHONY: bench-threads bench-scale
bench-threads: $(VENV)/.synced
	$(VENV)/bin/python benchmarks/thread_policy.py

# The data workflow, a cold training and a month's batch scoring at 1x, 2x, 4x and 8x the rows.
bench-scale: $(VENV)/.synced
	$(VENV)/bin/python benchmarks/scale.py

# ---- Closing the loop: replay, registration archive, loop benchmark ----------------------------
.PHONY: replay replay-hindsight replay-thresholds replay-trials replay-gate-choice replay-monthly replay-without-operational package bench-loop
# Empty: the month of the use case's first demo date.
REPLAY_START ?=
REPLAY_MONTHS ?= 6
PACKAGE_IMAGE ?= ghcr.io/example/$(USE_CASE)-tasks:dev

# Day by day, as the daily monitoring launch plan runs the loop, beside never retraining and the
# monthly schedule (scripts/daily_replay.py): tables + <data dir>/reports/daily-replay.html.
replay: $(VENV)/.synced
	$(VENV)/bin/python -m scripts.daily_replay $(if $(REPLAY_START),--start $(REPLAY_START)) --months $(REPLAY_MONTHS)

# The best retrain days with hindsight on the same months, beside the monthly schedule
# (scripts/retrain_hindsight.py): a model as of every HINDSIGHT_EVERY days and each 1st, in the
# replay's store and Flyte cache (the replay's models are reused).
HINDSIGHT_EVERY ?= 7
replay-hindsight: $(VENV)/.synced
	$(VENV)/bin/python -m scripts.retrain_hindsight $(if $(REPLAY_START),--start $(REPLAY_START)) --months $(REPLAY_MONTHS) --every $(HINDSIGHT_EVERY)

# The label-free thresholds chosen on the THRESHOLD_MONTHS before the replay's first month (never
# on the months it judges), in a store and a Flyte cache of their own.
THRESHOLD_MONTHS ?= 4
THRESHOLDS_DIR ?= .mlops-thresholds
replay-thresholds: $(VENV)/.synced
	mkdir -p $(THRESHOLDS_DIR)/home
	env -u MLFLOW_TRACKING_URI HOME=$(abspath $(THRESHOLDS_DIR))/home MLOPS_DATA_DIR=$(abspath $(THRESHOLDS_DIR)) \
		$(VENV)/bin/python -m scripts.daily_replay --choose --months $(THRESHOLD_MONTHS)

# One of the loop's rules (TRIAL_SETTING, an option of scripts/daily_replay.py) chosen on the same
# months: one replay per value of TRIAL_VALUES, side by side, each in a store and a Flyte cache of
# its own (a version is judged once, against the champion of its time: its recorded decision would
# answer for another value's champion), then the choice.
# Passive OpenMP threads: several fits side by side on a few cores, no spinning thread starves another.
TRIAL_SETTING ?= min-new-days
TRIAL_VALUES ?= 7 14 21 28
TRIALS_DIR ?= .mlops-trials
replay-trials: $(VENV)/.synced
	for value in $(TRIAL_VALUES); do \
		dir=$(abspath $(TRIALS_DIR))/$(TRIAL_SETTING)-$$value; mkdir -p $$dir/home; \
		env -u MLFLOW_TRACKING_URI HOME=$$dir/home MLOPS_DATA_DIR=$$dir OMP_WAIT_POLICY=passive \
			$(VENV)/bin/python -m scripts.daily_replay --months $(THRESHOLD_MONTHS) \
			--$(TRIAL_SETTING)=$$value --trial $$dir/trial.json > $$dir/replay.log 2>&1 & \
	done; wait
	$(VENV)/bin/python -m scripts.daily_replay --choose-trial $(foreach v,$(TRIAL_VALUES),$(abspath $(TRIALS_DIR))/$(TRIAL_SETTING)-$(v)/trial.json)

# The gate's refresh margin (GateConfig.max_refresh_loss), chosen the same way.
GATE_MARGINS ?= 0 0.002 0.004
replay-gate-choice:
	$(MAKE) replay-trials TRIAL_SETTING=max-refresh-loss TRIAL_VALUES="$(GATE_MARGINS)"

# The earlier replay: the loop decides once a month, on the month's truth.
replay-monthly: $(VENV)/.synced
	$(VENV)/bin/python -m scripts.replay $(if $(REPLAY_START),--start $(REPLAY_START)) --months $(REPLAY_MONTHS)

# The same replay with every model without the operational features, in a store and a Flyte cache
# of its own (a cached task keyed by a version number must not answer for the other store's).
WITHOUT_OPERATIONAL_DIR ?= .mlops-without-operational
replay-without-operational: $(VENV)/.synced
	mkdir -p $(WITHOUT_OPERATIONAL_DIR)/home
	env -u MLFLOW_TRACKING_URI HOME=$(abspath $(WITHOUT_OPERATIONAL_DIR))/home MLOPS_DATA_DIR=$(abspath $(WITHOUT_OPERATIONAL_DIR)) \
		$(VENV)/bin/python -m scripts.replay $(if $(REPLAY_START),--start $(REPLAY_START)) --months $(REPLAY_MONTHS) \
		--without-operational-features

# Every task, workflow and launch plan serialized offline into flyte-package.tgz.
package: $(VENV)/.synced
	$(VENV)/bin/pyflyte --pkgs workflows --pkgs launchplans package --image $(PACKAGE_IMAGE) -f -o flyte-package.tgz

bench-loop: $(VENV)/.synced
	$(VENV)/bin/python benchmarks/batch_and_replay.py
