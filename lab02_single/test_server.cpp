// test_server.cpp -- lab02's unit tests (doctest): `make test`.
//
// lab02's functions are the ones every server lab shares, so its cases live
// in echo_cases.h, which lab03 and lab04 include as well.  One case:
//   build/g++/test_server --test-case='serve_client*'
#include "server.h"

#include "echo_cases.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <poll.h>
#include <unistd.h>

// --------------------------------------------------- what the kernel does
//
// Not a test of server.cpp: the facts serve_client and ignore_sigpipe rest
// on, shown on this kernel.  After the peer's reset (RST) the first write
// fails with ECONNRESET and raises no signal; the writes after it fail with
// EPIPE and raise SIGPIPE, which by default ends the process (send(2)).
TEST_CASE("kernel: after a reset, write fails with ECONNRESET, then EPIPE and SIGPIPE")
{
    const auto r = testing::run_in_child([] {
        std::signal(SIGPIPE, SIG_DFL);
        testing::Connection c;
        testing::close_with_reset(c.client);
        c.client = -1;
        pollfd reset{c.server, POLLIN, 0};
        if (poll(&reset, 1, 5000) != 1)
            return;
        const bool first = write(c.server, "x", 1) < 0 && errno == ECONNRESET;
        std::printf("first write: %s\n", first ? "ECONNRESET" : "something else");
        std::fflush(stdout);
        (void)write(c.server, "x", 1); // SIGPIPE, at its default: the end
        std::printf("still alive\n");
    });
    CHECK(r.out == "first write: ECONNRESET\n");
    CHECK(r.signal == SIGPIPE);
}
