# The two commands of the README: `make demo` and `make test`. Both are safe to run again.
PYTHON ?= python3
VENV ?= .venv
HOME_DIR ?= $(CURDIR)/demo-home
BIN := $(VENV)/bin

.PHONY: demo test venv debian npm clean

$(BIN)/mediastation: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(BIN)/mediastation

debian:
	bash scripts/install-debian-packages.sh

demo: venv
	$(BIN)/mediastation --home $(HOME_DIR) demo

npm:
	@if command -v npm >/dev/null; then \
	  npm ci --prefix tests/firefox --no-audit --no-fund --ignore-scripts --silent; \
	else echo "npm not found: the Firefox viewer test will say so"; fi

test: debian venv npm
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(HOME_DIR) *.egg-info
