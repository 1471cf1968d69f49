# The two commands of the README: `make demo` and `make test`. Both are safe to run again.
# `make demo` ends with the desk running (Ctrl-C stops it); `make demo-disc` only makes the demo disc.
PYTHON ?= python3
VENV ?= .venv
HOME_DIR ?= $(CURDIR)/demo-home
BIN := $(VENV)/bin
DESK_USER ?= demo
DESK_PASSWORD ?= demo-desk-password
DESK_PORT ?= 8420

.PHONY: demo demo-disc desk test venv debian npm clean

$(BIN)/mediastation: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(BIN)/mediastation

debian:
	bash scripts/install-debian-packages.sh

# The demo disc (`mediastation demo` makes it and returns: scripts and tests rely on that).
demo-disc: venv
	$(BIN)/mediastation --home $(HOME_DIR) demo

# The demo station's desk in a browser: the demo disc's home, a demo login (an admin), then `serve`
# until Ctrl-C, the address and the login printed last so they are what a newcomer sees.
demo: demo-disc
	@$(BIN)/mediastation --home $(HOME_DIR) users list --json | grep -q '"name": "$(DESK_USER)"' || \
	  echo '$(DESK_PASSWORD)' | $(BIN)/mediastation --home $(HOME_DIR) users add $(DESK_USER) --role admin --password-stdin
	@echo
	@echo "Open the desk in a browser at the address below and sign in as $(DESK_USER), password $(DESK_PASSWORD)."
	$(BIN)/mediastation --home $(HOME_DIR) serve --port $(DESK_PORT)

desk: demo

npm:
	@if command -v npm >/dev/null; then \
	  npm ci --prefix tests/firefox --no-audit --no-fund --ignore-scripts --silent; \
	else echo "npm not found: the Firefox viewer test will say so"; fi

test: debian venv npm
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(HOME_DIR) *.egg-info
