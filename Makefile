# Two commands on a fresh machine: `make demo` and `make test` (each sets itself up).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
N      ?= 500
# Debian packages: FluidSynth and General MIDI soundfonts, for rendering training and test material; LMMS, whose
# synth presets play training and validation material (`make presets`); Chromium and its WebDriver, for the web
# page's browser tests and its screenshot
DEBS   := fluidsynth fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont-small lmms chromium \
          chromium-driver

.PHONY: setup system-deps demo test test-fast lint typecheck bench bench-against bench-scale bench-startup bench-catalog bench-descriptors bench-similar bench-serve docs libraries presets train train-tempo train-kind evaluate probe-wash probe-chords clean

system-deps:
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build (an unpinned torch pulls a multi-GB CUDA build)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

setup: system-deps $(STAMP)

demo: setup
	$(BIN)/python -m sampledex.pipeline.tools.demo demo-library
	$(BIN)/sampledex index demo-library --catalog catalog
	$(BIN)/sampledex search --key "A minor" --compatible --catalog catalog
	@echo
	@echo "Browse and listen: $(BIN)/sampledex serve --catalog catalog   (then open http://127.0.0.1:8765/)"

test: setup lint typecheck
	$(BIN)/python -m pytest

# ruff (lint and format) and mypy over the code; `make test` runs both
lint: setup
	$(BIN)/ruff check pipeline models tests
	$(BIN)/ruff format --check pipeline models tests

# mypy sees the package as installed (sampledex.pipeline, .models, .sql): a tree of links in .mypy-tree
typecheck: setup
	rm -rf .mypy-tree && mkdir -p .mypy-tree/sampledex
	for d in pipeline models sql; do ln -s ../../$$d .mypy-tree/sampledex/$$d; done
	ln -s ../../pipeline/_sampledex/__init__.py .mypy-tree/sampledex/__init__.py
	MYPYPATH=.mypy-tree $(BIN)/mypy -p sampledex

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

# a 1,000,000-row catalog: searches, GROUP BY, a commit and a compaction, in-process and from the command line
bench-catalog: setup
	$(BIN)/python -m sampledex.pipeline.tools.catalogbench

# tempo, loop or one-shot, root and tuning on a seeded set rendered with the held-out soundfont, beside librosa
bench-descriptors: setup
	$(BIN)/python -m sampledex.pipeline.tools.descbench

# start-up and answer time of --help, query and search, beside `python -c pass`
bench-startup: setup
	$(BIN)/python -m sampledex.pipeline.tools.startbench

# `similar` on a 100,000-row catalog (in-process and from the command line), and what the embedding costs
bench-similar: setup
	$(BIN)/python -m sampledex.pipeline.tools.similarbench

# the web page's answer to a filter on a 100,000-row catalog, over HTTP
bench-serve: setup
	$(BIN)/python -m sampledex.pipeline.tools.servebench

# README's pictures, from the demo library and the shipped model: the page, the key wheel, a confusion matrix
docs: setup
	$(BIN)/python -m sampledex.pipeline.tools.pictures docs

bench: setup
	$(BIN)/python -m sampledex.pipeline.tools.bench --files $(N) --key-method classic cnn

# the analysis here against an earlier revision's, same files: CPU seconds a file and sampledex index's files/s
# (REV=125df37: the key-only analysis before issue 11's descriptors)
REV ?= 125df37
bench-against: setup
	$(BIN)/python -m sampledex.pipeline.tools.revbench --against $(REV) --files $(N)

# S3 (moto on loopback), a real scheduler with two workers, and a no-change rerun over 10,000 files
bench-scale: setup
	$(BIN)/python -m sampledex.pipeline.tools.scalebench --files $(N)

# Recorded-instrument libraries (development-time data): `make libraries` clones them into data/libraries
TRAIN_LIBRARIES      = $(foreach d,$(wildcard data/libraries/train/*),--library $(d))
VALIDATION_LIBRARIES = $(foreach d,$(wildcard data/libraries/validation/*),--library $(d))

libraries: setup
	$(BIN)/python -m sampledex.pipeline.tools.libraries

# The generator's music played on LMMS's synth presets (development-time data, about 25 minutes on two cores):
# three quarters of the presets for training (`sampledex train data/presets/train/labels.csv`; the model card's
# "v11, tried"), the rest for `make evaluate`'s presets set
presets: setup
	$(BIN)/python -m sampledex.models.training.presets data/presets/train --split train --count 2400 --seed 1
	$(BIN)/python -m sampledex.models.training.presets data/presets/validation --split validation --count 600 --seed 7

# Five stages, each resuming where a stopped run left off, as the shipped weights were made: the synthetic set
# from random weights (v5), then those weights fine-tuned on it together with the set played on the recorded
# instruments (v6), then one epoch more of that (v7; when the shipped weights were made, the epoch that first heard
# tonal FX over noise), one more (v8, the epoch that first heard tonic chords of every colour) and one more (v10,
# the epoch that first heard pads of wide detuned stacks and drones without a third; a fresh run's every stage hears
# all of them), keeping v7's "no key" ratio; v10's weights ship.
train: setup
	@test -n "$(TRAIN_LIBRARIES)" || echo "warning: no data/libraries/train/ (run make libraries): training without recorded instruments"
	$(BIN)/sampledex train --out runs/keycnn-synth --epochs 6
	$(BIN)/sampledex train --synthetic $(TRAIN_LIBRARIES) --init runs/keycnn-synth/keycnn.npz --epochs 2 \
	  --out runs/keycnn
	$(BIN)/sampledex train --synthetic $(TRAIN_LIBRARIES) --init runs/keycnn/keycnn.npz --epochs 1 \
	  --out runs/keycnn-v7
	$(BIN)/sampledex train --synthetic $(TRAIN_LIBRARIES) --init runs/keycnn-v7/keycnn.npz --epochs 1 \
	  --no-key-ratio 0.3 --out runs/keycnn-v8
	$(BIN)/sampledex train --synthetic $(TRAIN_LIBRARIES) --init runs/keycnn-v8/keycnn.npz --epochs 1 \
	  --no-key-ratio 0.3 --out runs/keycnn-v10 --export models/keycnn.npz

# held-out figures; with data/libraries/validation/, the real-instrument validation sets too
evaluate: setup
	$(BIN)/python -m sampledex.pipeline.tools.keyreport $(VALIDATION_LIBRARIES)

# tonal FX and pads under noise washes, CNN beside Krumhansl–Schmuckler (the model card's "v7")
probe-wash: setup
	$(BIN)/python -m sampledex.pipeline.tools.washprobe

# one tonic chord held, of every colour (6, 6/9, m9, …) and a power chord, CNN beside Krumhansl–Schmuckler (the
# model card's "v8" and "v10");
# DETUNE=30:50 plays the numpy pads alone, every voice spread over ±30–50 cents (the model card's "v9");
# INVERSION=1 or 2 the tonic triads alone, over their third or fifth (the model card's "Slash chords")
probe-chords: setup
	$(BIN)/python -m sampledex.pipeline.tools.chordprobe $(if $(DETUNE),--detune $(DETUNE)) \
	  $(if $(INVERSION),--inversion $(INVERSION))

# the tempo-level scorer (models/tempolevel.npz): renders its development loops (cached in data/tempolevel), trains, validates
train-tempo: setup
	$(BIN)/python -m sampledex.models.training.tempolevel

# the loop-or-one-shot model (models/kind.py's WEIGHTS): renders development files, fits, validates, prints the weights
train-kind: setup
	@test -n "$(TRAIN_LIBRARIES)" || echo "warning: no data/libraries/train/ (run make libraries): fitting without recorded notes"
	$(BIN)/python -m sampledex.models.training.kindfit $(TRAIN_LIBRARIES) $(subst --library,--val-library,$(VALIDATION_LIBRARIES))

clean:
	rm -rf catalog demo-library bench-library
