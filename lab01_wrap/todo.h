// todo.h -- what a handout stub calls in place of code not written yet.
//
// The kit's student files are reference solutions with the student's part
// marked; `make handout` replaces each marked region with a call to
// not_implemented(), which names the missing piece and ends the program, so
// a half-done lab still compiles and fails loudly at the exact spot.  The
// arguments after the first are the function's parameters, passed only so
// that -Wunused-parameter stays quiet until the real code uses them.
#pragma once

#include <cstdio>
#include <unistd.h>

// Exit status of a program that reached a stub (EX_SOFTWARE in sysexits.h).
constexpr int kNotImplementedStatus = 70;

template <typename... Unused>
[[noreturn]] void not_implemented(const char *what, const Unused &...)
{
    std::fprintf(stderr, "%s is not implemented yet\n", what);
    _exit(kNotImplementedStatus);
}
