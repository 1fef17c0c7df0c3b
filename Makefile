# One entry point for people and CI. Targets set up the virtual environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test rehearse bench lint clean

venv: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(STAMP)

# Two workers, one test file each at a time: module fixtures (an emulator, a
# rehearsal) are built once per file, and both cores of a CI machine are busy.
test: venv
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Deploy and destroy time against their chains, API calls and polling overhead on
# the realistic profile, beside a one-at-a-time baseline; writes build/bench.json
# and fails when a performance target is missed.
bench: venv
	$(BIN)/python -m rehearsal.bench --output-dir build

# Rehearse the dev stack end to end against the local AWS emulator (simulated clock).
rehearse: venv
	$(BIN)/python -m rehearsal --stack dev --profile realistic

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build .rehearsal
