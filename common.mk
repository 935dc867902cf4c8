# common.mk -- build settings shared by every lab's Makefile.
#
#   make                      build with g++ into build/g++/ (programs in the lab folder)
#   make CXX=clang++          the same with clang++, into build/clang++/
#   make SANITIZE=1           AddressSanitizer + UBSan build, into build/<compiler>-san/
#
# Programs of the default build land in the lab folder itself (lab02_single/server);
# those of other builds stay in their build folder.

.DEFAULT_GOAL := all

KIT_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
WRAP_DIR := $(KIT_ROOT)/lab01_wrap
PYTHON   ?= $(shell $(KIT_ROOT)/tools/find-python 2>/dev/null)

CONFIG := $(notdir $(CXX))$(if $(filter 1,$(SANITIZE)),-san)
BUILD  := build/$(CONFIG)
BIN    := $(if $(filter g++,$(CONFIG)),.,$(BUILD))

CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++17 -Wall -Wextra -Werror
CPPFLAGS += -I$(WRAP_DIR) -MMD -MP
# Link only the shared libraries a program uses: a server that needs nothing
# of libstdc++ then maps libc alone, and a smaller parent forks faster
# (bench/README.md measures it).
LDFLAGS  += -Wl,--as-needed
ifeq ($(SANITIZE),1)
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  CXXFLAGS += $(SANFLAGS)
  LDFLAGS  += $(SANFLAGS)
endif

# Fault injection for unit tests: read/write/accept go through fakesys.cpp.
TEST_LDFLAGS := -Wl,--wrap=read,--wrap=write,--wrap=accept -pthread
# The kit's own objects, which no student file changes, come from
# KIT_OBJECTS: the grader compiles them once per grading run and points it at
# them (grader/harness/kit.py); by default they are built here like the rest.
KIT_OBJECTS  ?= $(BUILD)
TEST_SUPPORT := $(KIT_OBJECTS)/test_main.o $(KIT_OBJECTS)/testing.o $(KIT_OBJECTS)/fakesys.o
WRAP_OBJ     := $(BUILD)/wrap.o

# Sanitizer reports must fail the test run, and leaks are not a lesson here.
export ASAN_OPTIONS  ?= detect_leaks=0:abort_on_error=0
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

$(BUILD)/%.o: %.cpp | $(BUILD)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c -o $@ $<

$(BUILD)/%.o: $(WRAP_DIR)/%.cpp | $(BUILD)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c -o $@ $<

$(BUILD):
	mkdir -p $@

# `make grade` in a lab folder grades that lab of this checkout (in Chinese:
# `make grade LANG=zh_CN.UTF-8`, as at the top).
ifdef LAB
grade:
	@$(MAKE) -s -C $(KIT_ROOT) catalogues
	@$(KIT_ROOT)/grader/grade-for-make --lab $(LAB) \
	    $(if $(filter command line,$(origin LANG)),--lang $(if $(filter zh%,$(LANG)),zh,en))
endif

.PHONY: all test grade clean
