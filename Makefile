# forklab -- top-level Makefile.  `make help` lists the targets.

LABS := lab01_wrap lab02_single lab03_fork lab04_sigchld lab05_client
# Labs that exist in this checkout (a handout or a work in progress may lack some).
PRESENT_LABS := $(patsubst %/Makefile,%,$(wildcard $(addsuffix /Makefile,$(LABS))))

PYTHON ?= $(shell tools/find-python 2>/dev/null)
LAB    ?=

# Debian packages the kit needs: compilers, doctest, the grader's Python.
DEBIAN_PACKAGES := make g++ clang clang-format doctest-dev \
                   python3 python3-pytest python3-psutil

CPP_SOURCES = $(shell find $(PRESENT_LABS) -maxdepth 1 -name '*.cpp' -o -maxdepth 1 -name '*.h')

.PHONY: all help test unit-test sanitize-test clang-build grade grade-reference \
        grader-selftest stability stability-short format format-check handout gradescope \
        clean deps check-python

all:
	@for lab in $(PRESENT_LABS); do $(MAKE) -C $$lab all || exit 1; done

help:
	@echo "make                 build every lab"
	@echo "make test            everything CI runs: unit tests (plain and ASan+UBSan),"
	@echo "                     clang++ build, format check, grade the reference solutions,"
	@echo "                     the grader's own tests"
	@echo "make grade [LAB=..]  grade the labs of this checkout (one lab with LAB=)"
	@echo "make handout         dist/forklab-handout/ and .tar.gz for students"
	@echo "make gradescope      dist/gradescope-autograder.zip"
	@echo "make stability       grade the reference RUNS times (default 20) under CPU load"
	@echo "make format          clang-format every C++ file in place"
	@echo "make deps            install the Debian packages the kit needs"
	@echo "make clean"

test: unit-test sanitize-test clang-build format-check grade-reference grader-selftest \
      stability-short

unit-test:
	@for lab in $(PRESENT_LABS); do $(MAKE) -C $$lab test || exit 1; done

sanitize-test:
	@for lab in $(PRESENT_LABS); do $(MAKE) -C $$lab test SANITIZE=1 || exit 1; done

clang-build:
	@for lab in $(PRESENT_LABS); do $(MAKE) -C $$lab all CXX=clang++ || exit 1; done

grade: check-python
	grader/grade $(if $(LAB),--lab $(LAB))

# The reference solutions must score full marks (grade exits non-zero otherwise).
grade-reference: check-python
	grader/grade --quiet

grader-selftest: check-python
	@if [ -d grader/selftest ]; then \
	    mkdir -p build && cd grader && $(PYTHON) -m pytest -q -p no:cacheprovider \
	        --basetemp=$(CURDIR)/build/selftest-tmp selftest; \
	else echo "grader/selftest is not part of this copy of the kit: skipped"; fi

# The reference graded repeatedly, in parallel, with a CPU hog on every core.
RUNS ?= 20
stability: check-python
	$(PYTHON) grader/selftest/stability.py --runs $(RUNS) --jobs 2

stability-short: check-python
	@if [ -d grader/selftest ]; then $(PYTHON) grader/selftest/stability.py --runs 2 --jobs 2; fi

format:
	clang-format -i $(CPP_SOURCES)

format-check:
	clang-format --dry-run --Werror $(CPP_SOURCES)

handout: check-python
	$(PYTHON) tools/make_handout.py --out dist

gradescope: check-python
	$(PYTHON) tools/make_gradescope.py --out dist

check-python:
	@test -n "$(PYTHON)" || { tools/find-python; exit 1; }

deps:
	@if [ "$$(id -u)" = 0 ] || [ -n "$(SUDO)" ]; then \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $(DEBIAN_PACKAGES); \
	else \
	    echo "Run as root, or:"; \
	    echo "  sudo apt-get install -y --no-install-recommends $(DEBIAN_PACKAGES)"; \
	fi

clean:
	@for lab in $(PRESENT_LABS); do $(MAKE) -C $$lab clean; done
	rm -rf dist build grade-logs
