# keel-pipelines: every target sets up what it needs, so a fresh clone needs no other step.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-images images bench lint lock compile clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

DEMO := .keel/demo
include examples/churn/params.mk
YESTERDAY := $(shell date -u -d yesterday +%F 2>/dev/null || date -u -v-1d +%F)

# The main job on sample data (examples/churn/: its suite and parameters): train and register a
# champion, then score new customers with it: yesterday's, then today's, which have drifted (a
# warning; `keel monitor` shows the history).
demo: $(STAMP)
	$(BIN)/keel sample-data $(DEMO)/customers.parquet --rows 5000
	$(BIN)/keel sample-data $(DEMO)/to_score.parquet --rows 20000 --seed 1 --no-label
	$(BIN)/keel sample-data $(DEMO)/to_score_drifted.parquet --rows 20000 --seed 4 --no-label --drifted
	$(BIN)/keel compile
	$(BIN)/keel run training --local --param data_uri=$(DEMO)/customers.parquet $(CHURN_TRAINING)
	$(BIN)/keel run batch_scoring --local --param data_uri=$(DEMO)/to_score.parquet --param output_uri=$(DEMO)/predictions --param run_date=$(YESTERDAY) $(CHURN_SCORING)
	$(BIN)/keel run batch_scoring --local --param data_uri=$(DEMO)/to_score_drifted.parquet --param output_uri=$(DEMO)/predictions $(CHURN_SCORING)
	$(BIN)/keel monitor $(DEMO)/predictions
	$(BIN)/keel registry list churn
	$(BIN)/keel lineage $$(ls $(DEMO)/predictions/run_date=*/predictions.parquet | tail -1)
	@echo "Predictions: $(DEMO)/predictions/run_date=*/predictions.parquet; reports and metrics: the run folders above."

# pytest exits 5 when it collected no tests: that is a failure here, never a silent pass.
PYTEST = $(BIN)/python -m pytest $(1); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests ($(1))" >&2; exit 1; fi; exit $$status

test: $(STAMP)
	@$(call PYTEST,-m "not images")

test-images: $(STAMP)
	@$(call PYTEST,-m images)

# Container images (root + buildah, or a Docker engine): the base once, one image per component, keel-serve.
# BASE_IMAGE=auto: python:3.11-slim when it can be pulled, else a Debian bookworm stand-in (debootstrap).
BASE_IMAGE ?= auto
images: $(STAMP)
	$(BIN)/python images/build.py --base-image $(BASE_IMAGE)

# Speed and memory goals: prints ratios measured in one run (not part of `make test`).
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

compile: $(STAMP)
	$(BIN)/python compile.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Re-resolve every dependency after changing pyproject.toml; the dev environment and the images install
# from the same requirements.lock.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --all-extras --python-version 3.11 --generate-hashes -q -o requirements.lock

clean:
	rm -rf build .keel
