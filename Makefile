# forklab -- top-level Makefile.  `make help` lists the targets.

# The labs, in the order taught: the first column of labs.txt, the kit's one list.
LABS := $(shell awk '!/^\#/ && NF {print $$1}' labs.txt)
# Labs that exist in this checkout (a handout or a work in progress may lack some).
PRESENT_LABS := $(patsubst %/Makefile,%,$(wildcard $(addsuffix /Makefile,$(LABS))))
# Built and tested like the labs: the labs, and bench/ (`make bench`) when present.
BUILD_DIRS := $(PRESENT_LABS) $(patsubst %/Makefile,%,$(wildcard bench/Makefile))
HAVE_SLIDES := $(wildcard slides/Makefile)

PYTHON ?= $(shell tools/find-python 2>/dev/null)
LAB    ?=
# apt-get runs as root: directly, or through sudo for a user who has it.
ifeq ($(origin SUDO),undefined)
SUDO := $(if $(filter 0,$(shell id -u)),,$(shell command -v sudo 2>/dev/null))
endif
# The grader and the demo speak the locale's language (zh_* is Chinese);
# `make grade LANG=zh_CN.UTF-8` asks for it even where LC_ALL says otherwise.
LANG_FLAG = $(if $(filter command line,$(origin LANG)),--lang $(if $(filter zh%,$(LANG)),zh,en))

# Debian packages the kit needs: compilers and doctest; the grader's Python;
# libc6-dev's libc.a for the bench's statically linked server; Node.js,
# Chromium, Graphviz and fonts for the slides.  npm is installed only when
# missing: a Node.js from NodeSource brings its own and conflicts with Debian's.
# netcat-openbsd is the `nc` of every "try it by hand"; bear writes
# compile_commands.json (`make compdb`).
GRADE_PACKAGES  := make g++ doctest-dev python3 python3-pytest python3-psutil bubblewrap
DEBIAN_PACKAGES := $(GRADE_PACKAGES) clang clang-format libc6-dev netcat-openbsd bear
# BEGIN HIDDEN
# The instructor's kit also builds the slides and runs the grader's selftests.
DEBIAN_PACKAGES += python3-yaml python3-pytest-xdist nodejs chromium graphviz fonts-dejavu-core \
                   fonts-noto-cjk gettext
# Dolos, for the class report's --similarity (make deps-similarity).
SIMILARITY_DEPS := grader/similarity/node_modules/.installed
# END HIDDEN

CPP_SOURCES = $(shell find $(BUILD_DIRS) grader/support -maxdepth 1 \
                \( -name '*.cpp' -o -name '*.h' -o -name '*.c' \))

# The cores to compile on (make compdb; the instructor's test builds).
CORES := $(shell nproc 2>/dev/null || echo 2)

.PHONY: all help demo test unit-table grade soak bench format format-check compdb clean \
        deps deps-grade deps-similarity check-python catalogues

all:
	@for dir in $(BUILD_DIRS); do $(MAKE) -C $$dir all || exit 1; done

help:
	@echo "make demo            watch lab04's server fork and reap its children"
	@echo "                     (SERVER=yours: your lab04 instead of the reference)"
	@echo "make                 build every lab"
	@echo "make test            every lab's unit tests, then a table per lab"
	@echo "make grade [LAB=..]  grade your labs (one lab with LAB=); in Chinese:"
	@echo "                     make grade LANG=zh_CN.UTF-8"
	@echo "make bench           what a process per connection costs (about 2 min)"
	@echo "make soak            lab04's long soak (100 000 connections, 300 at once)"
	@echo "make compdb          compile_commands.json for clangd and VS Code"
	@echo "make format          clang-format every C/C++ file in place"
	@echo "make deps            install the Debian packages the kit needs"
	@echo "                     (make deps-grade: only what grading needs)"
	@echo "make clean"
# BEGIN HIDDEN
	@echo "instructor only:"
	@echo "make check           everything CI runs: unit tests (plain and ASan+UBSan),"
	@echo "                     clang++ build, format check, grade the reference solutions,"
	@echo "                     the grader's own tests, a short stability run, the slides"
	@echo "make quick           the inner loop (about 5 minutes): unit tests, format,"
	@echo "                     the reference graded, the selftests that grade nothing"
	@echo "make check-translations  each *.zh.md in step with its English twin"
	@echo "make slides          the lecture decks (slides/build/); make slides-test checks"
	@echo "                     them in Chromium"
	@echo "make stability       grade the reference RUNS times (default 20) under CPU load:"
	@echo "                     every score must stay full; make load-fairness: every"
	@echo "                     alternative and mutant of the catalogue, twice, under load"
	@echo "make handout         dist/forklab-handout/ and .tar.gz for students"
	@echo "                     (REFERENCE_BINARIES=0: without the reference programs;"
	@echo "                     LANGS=en or LANGS=zh: one language, default both)"
	@echo "make gradescope      dist/gradescope-autograder.zip"
	@echo "make prairielearn    dist/prairielearn/: grading image and questions"
	@echo "                     (IMAGE=org/name: the image's name on Docker Hub;"
	@echo "                     either with LAB=lab04_sigchld: an assignment of one lab)"
	@echo "make lab-check LAB=labNN_name  everything one lab needs, each missing piece"
	@echo "                     with the command or file that fixes it"
	@echo "make new-lab LAB=labNN_name TITLE=\"...\"  a new lab that builds, grades full"
	@echo "                     marks and passes lab-check: placeholders to replace"
	@echo "make deps-similarity Dolos for grader/grade --batch --similarity (npm, in"
	@echo "                     grader/similarity/node_modules)"
# END HIDDEN

# lab04's server with three clients: replies and process tree side by side.  In a
# handout the reference build (lab04_sigchld/server-ref) runs until SERVER=yours.
REFERENCE_DEMO_SERVER := $(wildcard lab04_sigchld/server-ref)
demo: check-python catalogues
ifeq ($(SERVER)$(REFERENCE_DEMO_SERVER),)
	$(MAKE) all
	$(PYTHON) -m tools.demo $(LANG_FLAG)
else ifeq ($(SERVER),yours)
	$(MAKE) -C lab04_sigchld server
	$(PYTHON) -m tools.demo --server lab04_sigchld/server $(LANG_FLAG)
else
	$(PYTHON) -m tools.demo $(if $(SERVER),--server $(SERVER)) $(LANG_FLAG)
endif

# `make test`: every lab's unit tests, each case on its own, and a table per lab
# (passed / failed / not started), never stopping at the first stub.
TEST_GOALS := unit-table
# BEGIN HIDDEN
# In the instructor's kit `make test` is everything CI runs (`make check`).
TEST_GOALS := check
check: unit-test sanitize-test clang-build format-check grade-reference grader-selftest \
       stability-short $(if $(HAVE_SLIDES),slides-test) check-translations
# END HIDDEN
test: $(TEST_GOALS)

# BEGIN HIDDEN
# The maintainer's inner loop, a few minutes: the unit tests, the reference
# solutions graded, formatting, and the selftests that grade nothing (hygiene,
# generated tables, pitfalls, translations).  `make test` is still the gate.
QUICK_SELFTESTS := $(addprefix grader/selftest/,test_hygiene.py test_graded_tables.py \
                     test_lab_tables.py test_pitfalls.py test_translations.py test_spec.py)
quick: unit-test format-check grade-reference check-python catalogues
	$(PYTHON) -m pytest -q -p no:cacheprovider $(QUICK_SELFTESTS)
# END HIDDEN

unit-table: check-python
	$(PYTHON) -m tools.unit_table $(PRESENT_LABS)

# BEGIN HIDDEN
.PHONY: check quick unit-test sanitize-test clang-build grade-reference grader-selftest \
        stability stability-short load-fairness selftest-long slides slides-test handout \
        gradescope prairielearn check-translations graded-tables pot lab-check new-lab

# Everything one lab needs (ARCHITECTURE.md, "Adding a lab"), all missing
# pieces at once, each with its fix; a new lab that has all of them.
lab-check: check-python
	@test -n "$(LAB)" || { echo "usage: make lab-check LAB=labNN_name"; exit 2; }
	$(PYTHON) -m tools.lab_check $(LAB)

new-lab: check-python
	@test -n "$(LAB)" -a -n "$(TITLE)" || { echo "usage: make new-lab LAB=labNN_name TITLE=\"what it teaches\""; exit 2; }
	$(PYTHON) -m tools.new_lab $(LAB) "$(TITLE)"

# The template of the grader's messages, and the Chinese catalogue merged with it.
pot: check-python
	$(PYTHON) tools/check_translations.py --pot grader/locale/forklab.pot
	msgmerge --quiet --update --no-wrap --no-fuzzy-matching --backup=none \
	    grader/locale/zh/LC_MESSAGES/forklab.po grader/locale/forklab.pot

# Each *.zh.md in step with its English twin (after translating a change:
# $(PYTHON) tools/check_translations.py --update); every grader message translated.
check-translations: check-python
	$(PYTHON) tools/check_translations.py

# The READMEs' generated tables: the labs (README.md, the handout's) and each
# lab's graded tests; and the Chinese twins' citations of graded tests.
graded-tables: check-python
	$(PYTHON) -m tools.lab_tables --update
	$(PYTHON) -m tools.graded_tables --update
	@if [ -d grader/spec ]; then $(PYTHON) -m tools.spec_tables --update; fi

# bench's `test` is its smoke test: a few seconds of load, zero errors required.
# One lab at a time, its files compiled on every core.
unit-test:
	@for dir in $(BUILD_DIRS); do $(MAKE) -C $$dir -j$(CORES) test || exit 1; done

sanitize-test:
	@for dir in $(BUILD_DIRS); do $(MAKE) -C $$dir -j$(CORES) test SANITIZE=1 || exit 1; done

clang-build:
	@for dir in $(BUILD_DIRS); do $(MAKE) -C $$dir -j$(CORES) all CXX=clang++ || exit 1; done
# END HIDDEN

grade: check-python catalogues
	@grader/grade-for-make $(if $(LAB),--lab $(LAB)) $(LANG_FLAG)

# The grader's messages in Chinese: each grader/locale/LANG/LC_MESSAGES/forklab.po
# compiled by GNU gettext's msgfmt (Debian: gettext) into the .mo that Python's
# gettext reads.  A handout ships the .mo; without msgfmt an existing .mo stays.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard grader/locale/*/LC_MESSAGES/*.po))
catalogues: $(CATALOGUES)

grader/locale/%.mo: grader/locale/%.po
	@if command -v msgfmt >/dev/null; then echo "msgfmt --check -o $@ $<"; msgfmt --check -o $@ $<; \
	elif [ -f $@ ]; then touch $@; \
	else echo "$@: no msgfmt (Debian: apt-get install gettext): the grader speaks English"; fi

# BEGIN HIDDEN

# The reference solutions must score full marks (grade exits non-zero otherwise).
grade-reference: check-python
	grader/grade --quiet

# test_class_report.py runs Dolos (--similarity): installed first, as the
# slides' npm packages are.  `make test` grades a cover of the mutant
# catalogue (every test title a mutant fails, failed by one of them);
# `make selftest-long` grades every mutant.
# Most selftests wait on programs more than they compute, so they run in one
# stream per core, a test file per stream at a time but the gradings of the
# mutants, alternatives and beginners spread one by one (pytest-xdist, Debian's
# python3-pytest-xdist, loadgroup: grader/selftest/conftest.py; without it,
# one stream).
SELFTEST_STREAMS = $(shell $(PYTHON) -c 'import xdist' 2>/dev/null \
                     && [ $(CORES) -gt 1 ] && echo "-n $(CORES) --dist loadgroup")
grader-selftest: check-python catalogues $(SIMILARITY_DEPS)
	@if [ -d grader/selftest ]; then \
	    mkdir -p build && $(PYTHON) -m pytest -q -p no:cacheprovider $(SELFTEST_STREAMS) \
	        --durations=15 --basetemp=$(CURDIR)/build/selftest-tmp $(SELFTEST_ARGS) grader/selftest; \
	else echo "grader/selftest is not part of this copy of the kit: skipped"; fi

selftest-long:
	$(MAKE) grader-selftest SELFTEST_ARGS=--whole-catalogue

# Same code, same score: submissions graded repeatedly, two at a time, while
# four busy loops per core keep the machine busy (grader/selftest/stability.py).
RUNS ?= 20
stability: check-python
	$(PYTHON) -m grader.selftest.stability --set reference --runs $(RUNS) --jobs 2

# In `make test`: the reference, the slow alternatives and the mutants whose
# catch rests on timing, once each, under the same load.
stability-short: check-python
	@if [ -d grader/selftest ]; then \
	    $(PYTHON) -m grader.selftest.stability --set fairness --runs 1 --jobs 2; fi

load-fairness: check-python
	$(PYTHON) -m grader.selftest.stability --set catalogue --runs 2 --jobs 2

# END HIDDEN

# lab04's long soak (100 000 connections, 300 at once).
soak: check-python
	$(MAKE) -C lab04_sigchld soak

# SERVER=path (relative to here): your own server, measured beside lab04's.
bench: check-python
	$(MAKE) -C bench bench $(if $(SERVER),SERVER=$(abspath $(SERVER)))

# BEGIN HIDDEN
slides:
	$(MAKE) -C slides

slides-test:
	$(MAKE) -C slides test

# END HIDDEN

format:
	clang-format -i $(CPP_SOURCES)

format-check:
	clang-format --dry-run --Werror $(CPP_SOURCES)

# compile_commands.json for clangd and VS Code: every lab built once under bear,
# which records each compiler command with its flags and include paths.
compdb:
	@command -v bear >/dev/null || { echo "make compdb needs bear: make deps"; exit 1; }
	bear --output compile_commands.json -- $(MAKE) -B -j$(CORES) all
	@echo "compile_commands.json: $$(grep -c '"file"' compile_commands.json) files"

# BEGIN HIDDEN
# The handout carries the student decks, rendered (their sources hold the
# instructor's notes).
handout: check-python catalogues
	@if [ -n "$(HAVE_SLIDES)" ]; then $(MAKE) -C slides student; fi
	$(PYTHON) -m tools.make_handout --out dist $(if $(filter 0,$(REFERENCE_BINARIES)),--no-reference-binaries) \
	    $(if $(LANGS),--langs "$(LANGS)")

# LAB=lab04_sigchld (or "lab01_wrap lab02_single"): an assignment of those labs
# only (dist/gradescope-autograder-LAB.zip; prairielearn: only their questions).
gradescope: check-python catalogues
	$(PYTHON) -m tools.make_gradescope --out dist $(foreach lab,$(LAB),--lab $(lab))

# IMAGE: the grading image's name on Docker Hub, written into each info.json.
prairielearn: check-python catalogues
	$(PYTHON) -m tools.make_prairielearn --out dist $(if $(IMAGE),--image $(IMAGE)) \
	    $(foreach lab,$(LAB),--lab $(lab))
# END HIDDEN

check-python:
	@test -n "$(PYTHON)" || { tools/find-python; exit 1; }

NPM_HINT := and if npm is missing: sudo apt-get install -y npm
deps:
	@if [ "$$(id -u)" = 0 ] || [ -n "$(SUDO)" ]; then \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	        $(DEBIAN_PACKAGES) && \
	    { [ -z "$(HAVE_SLIDES)" ] || command -v npm >/dev/null || \
	      $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm; }; \
	else \
	    echo "apt-get needs root, and sudo is not installed: run as root, or:"; \
	    echo "  sudo apt-get install -y --no-install-recommends $(DEBIAN_PACKAGES)"; \
	    $(if $(HAVE_SLIDES),echo "$(NPM_HINT)";) \
	fi

# Only what grading needs (a CI runner, a grading machine).
deps-grade:
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    $(GRADE_PACKAGES)

# BEGIN HIDDEN
# Dolos for `grader/grade --batch --similarity`, pinned by package-lock.json.
# --ignore-scripts skips building @dodona/dolos-parsers (every grammar Dolos
# knows, compiled from source: many minutes); compare.mjs gives Dolos the C++
# grammar of tree-sitter-cpp instead, whose install uses its prebuilt binary.
deps-similarity: $(SIMILARITY_DEPS)
$(SIMILARITY_DEPS): grader/similarity/package-lock.json
	cd grader/similarity && npm ci --ignore-scripts --no-audit --no-fund && \
	    npm rebuild tree-sitter tree-sitter-cpp && touch node_modules/.installed
# END HIDDEN

clean:
	@for dir in $(BUILD_DIRS); do $(MAKE) -C $$dir clean; done
	@if [ -n "$(HAVE_SLIDES)" ]; then $(MAKE) -C slides clean; fi
	rm -rf dist build grade-logs compile_commands.json
