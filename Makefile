# The one task entry point, used by developers and by .ci/run.
#   make install   fresh virtual environment with the dev extras (what the README says)
#   make check     lint + format check + types + proto drift + docker lint + tests
#   make test      the README's test command
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?= -m "not slow"

.PHONY: install lint fmt types protos protos-check docker-lint test check bench demo

install:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e '.[dev]'

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

types:
	$(VENV)/bin/mypy

protos:
	$(PY) scripts/gen_protos.py

protos-check:
	$(PY) scripts/gen_protos.py --check

docker-lint:
	$(PY) scripts/lint_docker.py

test:
	$(PY) -m pytest $(PYTEST_ARGS)

check: lint types protos-check docker-lint test

demo:
	$(VENV)/bin/fedlookup demo
