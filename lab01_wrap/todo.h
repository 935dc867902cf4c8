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
#include <cstdlib>
#include <fcntl.h>
#include <unistd.h>

// Exit status of a program that reached a stub (EX_SOFTWARE in sysexits.h).
constexpr int kNotImplementedStatus = 70;

// `make test` at the top of the kit counts the unit tests that reached a stub,
// even in a child process whose stderr a test swallows: it names a file in
// FORKLAB_STUB_LOG, and each stub reached appends its name there.
inline void note_stub_reached(const char *what)
{
    const char *log = std::getenv("FORKLAB_STUB_LOG");
    if (log == nullptr) {
        return;
    }
    const int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dprintf(fd, "%s\n", what);
        close(fd);
    }
}

template <typename... Unused>
[[noreturn]] void not_implemented(const char *what, const Unused &...)
{
    std::fprintf(stderr, "%s is not implemented yet\n", what);
    note_stub_reached(what);
    _exit(kNotImplementedStatus);
}
