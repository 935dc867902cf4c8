# forklab -- top-level Makefile.  `make help` lists the targets.

LABS := lab01_wrap lab02_single lab03_fork lab04_sigchld lab05_client
# Labs that exist in this checkout (a handout or a work in progress may lack some).
PRESENT_LABS := $(patsubst %/Makefile,%,$(wildcard $(addsuffix /Makefile,$(LABS))))
# Built and tested like the labs: the labs, and bench/ (`make bench`) when present.
BUILD_DIRS := $(PRESENT_LABS) $(patsubst %/Makefile,%,$(wildcard bench/Makefile))
HAVE_SLIDES := $(wildcard slides/Makefile)

PYTHON ?= $(shell tools/find-python 2>/dev/null)
LAB    ?=
SUDO   ?=

# Debian packages the kit needs: compilers and doctest; the grader's Python;
# libc6-dev's libc.a for the bench's statically linked server; Node.js,
# Chromium, Graphviz and fonts for the slides.  npm is installed only when
# missing: a Node.js from NodeSource brings its own and conflicts with Debian's.
GRADE_PACKAGES  := make g++ doctest-dev python3 python3-pytest python3-psutil
DEBIAN_PACKAGES := $(GRADE_PACKAGES) clang clang-format libc6-dev \
                   nodejs chromium graphviz fonts-dejavu-core

CPP_SOURCES = $(shell find $(BUILD_DIRS) grader/support -maxdepth 1 \
                \( -name '*.cpp' -o -name '*.h' -o -name '*.c' \))

.PHONY: all help demo test unit-test sanitize-test clang-build grade grade-reference \
        grader-selftest stability stability-short soak bench slides slides-test \
        format format-check handout gradescope clean deps deps-grade check-python

all:
	@for dir in $(BUILD_DIRS); do $(MAKE) -C $$dir all || exit 1; done

help:
	@echo "make demo            build, then watch lab04's server fork and reap its children"
	@echo "make                 build every lab and the bench"
	@echo "make test            everything CI runs: unit tests (plain and ASan+UBSan),"
	@echo "                     clang++ build, format check, grade the reference solutions,"
	@echo "                     the grader's own tests, a short stability run, the slides"
	@echo "make grade [LAB=..]  grade the labs of this checkout (one lab with LAB=)"
	@echo "make bench           what a process per connection costs: lab04 against C,"
	@echo "                     Python and epoll servers, and fork() itself (2-3 min);"
	@echo "                     SERVER=path adds your own server"
	@echo "make slides          the lecture decks (slides/build/); make slides-test checks"
	@echo "                     them in Chromium"
	@echo "make soak            lab04's long soak (100 000 connections, 300 at once)"
	@echo "make stability       grade the reference RUNS times (default 20) under CPU load"
	@echo "make handout         dist/forklab-handout/ and .tar.gz for students"
	@echo "make gradescope      dist/gradescope-autograder.zip"
	@echo "make format          clang-format every C/C++ file in place"
	@echo "make deps            install the Debian packages the kit needs"
	@echo "                     (make deps-grade: only what grading needs)"
	@echo "make clean"

# lab04's reference server with three clients: replies and process tree side by side.
demo: all check-python
	$(PYTHON) tools/demo.py

test: unit-test sanitize-test clang-build format-check grade-reference grader-selftest \
      stability-short $(if $(HAVE_SLIDES),slides-test)

# bench's `test` is its smoke test: a few seconds of load, zero errors required.
unit-test:
	@for dir in $(BUILD_DIRS); do $(MAKE) -C $$dir test || exit 1; done

sanitize-test:
	@for dir in $(BUILD_DIRS); do $(MAKE) -C $$dir test SANITIZE=1 || exit 1; done

clang-build:
	@for dir in $(BUILD_DIRS); do $(MAKE) -C $$dir all CXX=clang++ || exit 1; done

grade: check-python
	@grader/grade-for-make $(if $(LAB),--lab $(LAB))

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

# lab04's long soak (100 000 connections, 300 at once).
soak: check-python
	$(MAKE) -C lab04_sigchld soak

# SERVER=path (relative to here): your own server, measured beside lab04's.
bench: check-python
	$(MAKE) -C bench bench $(if $(SERVER),SERVER=$(abspath $(SERVER)))

slides:
	$(MAKE) -C slides

slides-test:
	$(MAKE) -C slides test

format:
	clang-format -i $(CPP_SOURCES)

format-check:
	clang-format --dry-run --Werror $(CPP_SOURCES)

# The handout carries the student decks, rendered (their sources hold the
# instructor's notes).
handout: check-python
	@if [ -n "$(HAVE_SLIDES)" ]; then $(MAKE) -C slides student; fi
	$(PYTHON) tools/make_handout.py --out dist

gradescope: check-python
	$(PYTHON) tools/make_gradescope.py --out dist

check-python:
	@test -n "$(PYTHON)" || { tools/find-python; exit 1; }

deps:
	@if [ "$$(id -u)" = 0 ] || [ -n "$(SUDO)" ]; then \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	        $(DEBIAN_PACKAGES) && \
	    { command -v npm >/dev/null || \
	      $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm; }; \
	else \
	    echo "Run as root, or:"; \
	    echo "  sudo apt-get install -y --no-install-recommends $(DEBIAN_PACKAGES)"; \
	    echo "and, if npm is missing: sudo apt-get install -y npm"; \
	fi

# Only what grading needs (GitHub Classroom's runner, a grading machine).
deps-grade:
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    $(GRADE_PACKAGES)

clean:
	@for dir in $(BUILD_DIRS); do $(MAKE) -C $$dir clean; done
	@if [ -n "$(HAVE_SLIDES)" ]; then $(MAKE) -C slides clean; fi
	rm -rf dist build grade-logs
