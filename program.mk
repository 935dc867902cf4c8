# program.mk -- the rules of a lab whose student file is one program, labs
# 02-05: NAME.cpp linked with lab01's wrappers into ./NAME, and its unit tests.
# The lab's Makefile sets LAB and NAME, then includes this file.
include $(dir $(lastword $(MAKEFILE_LIST)))common.mk

PROGRAM  := $(BIN)/$(NAME)
TEST_BIN := $(BUILD)/test_$(NAME)

all: $(PROGRAM) $(TEST_BIN)

$(PROGRAM): $(BUILD)/$(NAME).o $(WRAP_OBJ)
	$(CXX) $(LDFLAGS) -o $@ $^

# `make server` or `make client` (what the grader builds) in every
# configuration; in the default one the program is ./server itself.
ifneq ($(BIN),.)
$(NAME): $(PROGRAM)
.PHONY: $(NAME)
endif

# The unit tests call the program's functions, so they link a second
# compilation of it in which main() is renamed out of doctest's way.
$(BUILD)/$(NAME)_under_test.o: $(NAME).cpp | $(BUILD)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -Dmain=$(NAME)_main -c -o $@ $<

# The lab's own tests are kit code: with KIT_OBJECTS (common.mk) the grader
# links them from its folder of prebuilt objects, as the test support.
TEST_OBJ := $(KIT_OBJECTS)/test_$(NAME).o

$(TEST_BIN): $(TEST_OBJ) $(BUILD)/$(NAME)_under_test.o $(WRAP_OBJ) $(TEST_SUPPORT)
	$(CXX) $(LDFLAGS) $(TEST_LDFLAGS) -o $@ $^

# What no student file changes, for the grader to build once: a lab whose
# Makefile says GRADED_UNIT_TESTS := yes has its unit tests graded.
kit-objects: $(TEST_OBJ) $(TEST_SUPPORT)
.PHONY: kit-objects

# The program too: every "try it by hand" step runs ./$(NAME).
test: $(PROGRAM) $(TEST_BIN)
	$(TEST_BIN)

clean:
	rm -rf build $(NAME)

-include $(wildcard $(BUILD)/*.d)
