# One command sets up and runs the main job, one runs the tests. Both create the virtualenv on first use.
PYTHON ?= python3
STACK ?= dev
VENV := venv
BIN := $(VENV)/bin

.PHONY: demo serve plan chaos test lint typecheck unit clean

$(BIN)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

## demo: deploy the stack into the local cloud and drive the example application through every pattern
demo: $(BIN)/.installed
	$(BIN)/python -m localcloud demo --stack $(STACK)

## serve: the deployed stack as AWS endpoints on 127.0.0.1:$(PORT), event sources running, until Ctrl-C
## (CLOCK=virtual: local time moves only with `python3 -m localcloud clock advance 15m`; SERVE_ARGS="--logs --reload")
PORT ?= 4566
CLOCK ?= wall
SERVE_ARGS ?=
serve: $(BIN)/.installed
	$(BIN)/python -m localcloud serve --stack $(STACK) --port $(PORT) --clock $(CLOCK) --outputs outputs.json $(SERVE_ARGS)

## plan: print every resource the stack declares, grouped by component (offline, no Pulumi CLI, no AWS)
plan: $(BIN)/.installed
	$(BIN)/python -m localcloud plan --stack $(STACK)

## chaos: ORDERS orders under random faults (FAULT_RATE, SEED), then recovery and every invariant checked
ORDERS ?= 200
SEED ?= 1
FAULT_RATE ?= 0.1
chaos: $(BIN)/.installed
	$(BIN)/python -m localcloud chaos --stack $(STACK) --orders $(ORDERS) --seed $(SEED) --fault-rate $(FAULT_RATE)

## test: lint, type-check and run the whole test suite
test: lint typecheck unit

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/pyright

unit: $(BIN)/.installed
	$(BIN)/pytest -n 2 --dist loadfile

clean:
	rm -rf $(VENV) .build .pytest_cache .ruff_cache
