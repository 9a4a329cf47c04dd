# The two commands a new user needs: `make run` (the daemon, SQLite by default) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench demo clean

# selectolax is compiled here with link-time optimisation (lexbor is hundreds of small C files, and inlining
# across them makes its parse ~16% faster than the PyPI wheel's) and with a patch that makes lexbor's tokenizer
# scan scripts, styles and comments 16 bytes at a time (~18% off the parse, same tree): scripts/build_selectolax.py,
# bench/RESULTS.extraction.md. About half a minute once (the wheel is cached in ~/.cache/scraper). When that
# fails, selectolax is compiled unpatched, and without a compiler that can, the PyPI wheel is installed.
LTO_FLAGS := -O3 -flto=auto -fno-semantic-interposition

$(STAMP): pyproject.toml setup.py scraper/extract/_lexwalk.c scripts/build_selectolax.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	-CFLAGS='$(LTO_FLAGS)' LDFLAGS='$(LTO_FLAGS)' $(BIN)/python scripts/build_selectolax.py --pip $(BIN)/pip
	CFLAGS='$(LTO_FLAGS)' LDFLAGS='$(LTO_FLAGS)' $(BIN)/pip install --quiet --no-binary selectolax -e '.[dev]' \
		|| $(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	mkdir -p data
	$(BIN)/scraper db upgrade
	$(BIN)/scraper run

demo: $(STAMP)
	$(BIN)/scraper demo

test: $(STAMP)
	sh scripts/install-browser.sh
	$(BIN)/ruff check scraper tests bench scripts
	$(BIN)/python -m pytest -q

# The quick figures (a few minutes in all); the long runs (search, stories_db at 1M, soak, crash, scale,
# fuzz_atheris) have their commands in bench/RESULTS.md. ../shared/corpus holds the extraction pages.
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/extraction.py --corpus ../shared/corpus
	$(BIN)/python bench/feeds.py
	$(BIN)/python bench/polling.py
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/stories.py quality
	$(BIN)/python bench/huge_feed.py

clean:
	rm -rf $(VENV) data .pytest_cache
