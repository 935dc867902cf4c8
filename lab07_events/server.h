// server.h -- the functions of lab07_events's program (a placeholder written by
// `make new-lab`: replace it with the lab's own).
//
// Kit file: server.cpp (the student file) defines them, and the unit tests
// (test_server.cpp) call them one by one.
#pragma once

#include <cstddef>

// Writes "hello, NAME" and a newline into buf (size bytes, at least 1), cut to
// fit and ended by '\0'; returns the length of the whole greeting.
int greeting(char *buf, std::size_t size, const char *name);
