# One entry point. Every target creates what it needs on a fresh machine (Python 3.11 + pip).
SHELL := /bin/bash
PYTHON ?= python3.11
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.8
VENV := .venv
SERVING_VENV := .venv-serving
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup setup-serving setup-system demo serve test lint bench clean

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
	$(UV) pip compile seldon/requirements.in --python-version 3.11 -o seldon/requirements.txt

clean:
	rm -rf $(TOOLS) $(VENV) $(SERVING_VENV) .mlops
