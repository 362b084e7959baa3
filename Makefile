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

DEMO_DATA := .keel/demo/churn.parquet

demo: $(STAMP)
	$(BIN)/keel sample-data $(DEMO_DATA) --rows 5000
	$(BIN)/keel compile
	$(BIN)/keel run validate_data --local --param data_uri=$(DEMO_DATA)

# pytest exits 5 when it collected no tests: that is a failure here, never a silent pass.
PYTEST = $(BIN)/python -m pytest $(1); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests ($(1))" >&2; exit 1; fi; exit $$status

test: $(STAMP)
	@$(call PYTEST,-m "not images")

test-images: $(STAMP)
	@$(call PYTEST,-m images)

# Container images (root + buildah, or a Docker engine): the base once, then one image per component.
# BASE_IMAGE=auto: python:3.11-slim when it can be pulled, else a Debian bookworm stand-in (debootstrap).
BASE_IMAGE ?= auto
images: $(STAMP)
	$(BIN)/python images/build.py --base-image $(BASE_IMAGE)

# Speed and memory goals: prints ratios measured in one run (not part of `make test`).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_batch_predict.py

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
