# tinykit: set-up, demo and tests on a fresh Debian machine with Python 3.11.
#   make demo   set everything up, then run a bundled model on the emulated Cortex-M4 board
#   make test   set everything up, then run the whole test suite
# Both are idempotent: a second run only re-checks what is installed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm espeak-ng chromium cmake make ser2net openocd \
	mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 \
	libportaudio2 libasound2-plugins alsa-utils pulseaudio pulseaudio-utils
# MBROLA (contrib) and its voices (non-free) need those sections of the Debian archive.
APT_EXTRA_SOURCES := /etc/apt/sources.list.d/tinykit-contrib-non-free.sources
# The venv is rebuilt when the dependencies change.
STAMP := $(VENV)/.setup-$(shell cat pyproject.toml Makefile | sha256sum | cut -c1-16)
DEMO_MODEL := tinykit/models/kws_ref_model.tflite
PYTEST_ARGS ?=

.PHONY: setup system-tools python-env demo test lint

setup: system-tools python-env

system-tools:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "error: missing system packages:$$missing"; \
	  echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	fi; \
	echo "installing system packages:$$missing"; \
	if [ ! -e $(APT_EXTRA_SOURCES) ] && [ -e /etc/apt/sources.list.d/debian.sources ]; then \
	  sed 's/^Components:.*/Components: contrib non-free/' /etc/apt/sources.list.d/debian.sources > $(APT_EXTRA_SOURCES); \
	elif [ ! -e $(APT_EXTRA_SOURCES) ] && [ -e /etc/apt/sources.list ]; then \
	  sed -n 's/^\(deb [^#]*\) main.*$$/\1 contrib non-free/p' /etc/apt/sources.list > $(APT_EXTRA_SOURCES:.sources=.list); \
	fi; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null

python-env: $(STAMP)

$(STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,farm]"
	# labgrid without its pyserial fork (pyserial-labgrid installs a second `serial` package over
	# pyserial's): its other dependencies come pinned with the farm extra. See README, "Board farms".
	$(BIN)/python -m pip install -q --no-deps "labgrid==26.0.1"
	# tf-keras (for quantization-aware training) declares a dependency on the full `tensorflow`
	# package, which would install a second TensorFlow over tensorflow-cpu: take it without deps.
	$(BIN)/python -m pip install -q --no-deps "tf-keras==2.21.0"
	rm -f $(VENV)/.setup-*
	touch $@

demo: setup
	$(BIN)/tinykit run $(DEMO_MODEL) --board qemu-m4 -o out/demo

# One real board on one serial port: the hw tier runs in one process (no xdist workers sharing it).
XDIST := $(if $(findstring --port,$(PYTEST_ARGS)),,-n 2 --dist loadfile)

test: setup
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check tinykit tests
