# The two commands of the README: `make demo` and `make test`. Both are safe to run again.
PYTHON ?= python3
VENV ?= .venv
HOME_DIR ?= $(CURDIR)/demo-home
BIN := $(VENV)/bin
DESK_USER ?= demo
DESK_PASSWORD ?= demo-desk-password

.PHONY: demo desk test venv debian npm clean

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

# The demo station's desk in a browser: the demo's home, a demo login (an admin), then `serve` until Ctrl-C.
desk: demo
	@$(BIN)/mediastation --home $(HOME_DIR) users list --json | grep -q '"name": "$(DESK_USER)"' || \
	  echo '$(DESK_PASSWORD)' | $(BIN)/mediastation --home $(HOME_DIR) users add $(DESK_USER) --role admin --password-stdin
	@echo "desk login: $(DESK_USER) / $(DESK_PASSWORD)"
	$(BIN)/mediastation --home $(HOME_DIR) serve

npm:
	@if command -v npm >/dev/null; then \
	  npm ci --prefix tests/firefox --no-audit --no-fund --ignore-scripts --silent; \
	else echo "npm not found: the Firefox viewer test will say so"; fi

test: debian venv npm
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(HOME_DIR) *.egg-info
