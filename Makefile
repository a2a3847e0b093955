# The two commands for a fresh machine (README): each sets up what it needs once, and is quick when already set up.
#   make demo   the main job on a short real clip with the shipped starter model: poses JSON, overlay video, contact sheet
#   make test   every test, in both environments (what CI runs)
#   make docs   the documentation site at http://127.0.0.1:8000 (mkdocs serve)
PYTHON ?= python3
# the CPU build: a plain `torch` pulls several GB of CUDA packages
TORCH := torch==2.13.0

.PHONY: demo test docs

.venv/.core: pyproject.toml
	$(PYTHON) -m venv .venv
	. .venv/bin/activate && pip install $(TORCH) && pip install -e .
	touch $@

.venv/.test: .venv/.core pyproject.toml
	. .venv/bin/activate && pip install -e ".[test]"
	touch $@

# Triton serving: PyTriton 0.7 needs numpy < 2, the annotation libraries of the test extra need numpy 2
.venv-serve/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-serve
	. .venv-serve/bin/activate && pip install $(TORCH) && pip install -e ".[serve,bench]" pytest
	touch $@

demo: .venv/.core
	. .venv/bin/activate && python examples/demo.py --out demo_out

test: .venv/.test .venv-serve/.installed
	. .venv/bin/activate && python -m pytest -q
	. .venv-serve/bin/activate && python -m pytest -q tests/test_serve.py

docs: .venv/.test
	. .venv/bin/activate && mkdocs serve --dev-addr 127.0.0.1:8000
