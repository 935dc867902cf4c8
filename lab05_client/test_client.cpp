// test_client.cpp -- lab05's unit tests (doctest): `make test`.
//
// parse_port() and parse_command_line() are checked directly, and in a
// forked child where they must exit.  connect_to_server() meets a listener
// of the test's own.  relay() runs in a forked child (testing::run_in_child,
// which also stops it at a deadline): its stdin is a socket pair the test
// feeds, its stdout is captured, and the other end of its connection is
// served by a thread of the test that plays the server -- prompt, late,
// closing, resetting.  The grader runs the whole client program instead
// (grader/tests/test_lab05_client.py).  One case:
//   build/g++/test_client --test-case='relay: half-closes*'
#include "client.h"
#include "fakesys.h"
#include "testing.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <netdb.h>
#include <poll.h>
#include <random>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using testing::ChildResult;
using testing::run_in_child;

namespace {

std::string random_text(std::size_t n, unsigned seed, int newline_every = 60)
{
    std::mt19937 gen(seed);
    std::uniform_int_distribution<int> letter(0, 25);
    std::uniform_int_distribution<int> line(0, newline_every - 1);
    std::string s(n, '\0');
    for (auto &c : s)
        c = line(gen) == 0 ? '\n' : static_cast<char>((letter(gen) % 2 ? 'a' : 'A') + letter(gen));
    return s;
}

// What the test's server does with its end of the connection.  It owns
// connfd and closes (or resets) it, but only after reading from the client:
// the child running relay() closes its own copy of connfd first, so that the
// server's close is the last one and the client sees it.
using Serve = std::function<void(int connfd)>;

// A server that answers each piece as it arrives, and closes at end of file.
void serve_promptly(int connfd)
{
    char buf[4096];
    for (;;) {
        const ssize_t n = recv(connfd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        testing::write_all(connfd,
                           testing::uppercase_reply(std::string(buf, static_cast<std::size_t>(n))));
    }
    close(connfd);
}

// A server that answers only once the client has half-closed.
void serve_at_end_of_file(int connfd)
{
    testing::write_all(connfd,
                       testing::uppercase_reply(testing::read_up_to(connfd, std::string::npos)));
    close(connfd);
}

// Run relay() in a child process with `input` on its stdin (ended, if
// end_input, by a half-close of the socket pair behind stdin) against
// serve().  in_child(sockfd) runs in the child just before relay().
ChildResult run_session(
    const std::string &input, bool end_input, const Serve &serve,
    const std::function<void(int sockfd)> &in_child = [](int) {},
    std::chrono::milliseconds timeout = 20s)
{
    testing::ScopedIgnoreSigpipe no_sigpipe;
    int stdin_pair[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, stdin_pair) == 0);
    const testing::TcpPair conn = testing::tcp_pair();
    std::thread server(serve, conn.server);
    std::thread feeder([&] {
        testing::write_all(stdin_pair[1], input);
        if (end_input)
            shutdown(stdin_pair[1], SHUT_WR); // end of file, whoever else holds the socket
    });
    const ChildResult client = run_in_child(
        [&] {
            // The test ignores SIGPIPE; relay() must not rely on that.
            signal(SIGPIPE, SIG_DFL);
            close(conn.server);
            close(stdin_pair[1]);
            in_child(conn.client);
            _exit(relay(stdin_pair[0], conn.client, STDOUT_FILENO));
        },
        timeout);
    // The child has exited (or was killed at the deadline).  Close our copies
    // of its ends too -- the connection with a reset -- so that a server or
    // feeder thread still blocked on a client that stopped reading (one that
    // deadlocked, say) gets an error and ends, and the test fails instead of
    // hanging.
    close(stdin_pair[0]);
    testing::close_with_reset(conn.client);
    feeder.join();
    server.join();
    close(stdin_pair[1]);
    return client;
}

} // namespace

// ------------------------------------------------------------- parse_port

TEST_CASE("parse_port: accepts 1 to 65535")
{
    CHECK(parse_port("1") == 1);
    CHECK(parse_port("80") == 80);
    CHECK(parse_port("6666") == 6666);
    CHECK(parse_port("65535") == 65535);
    CHECK(parse_port("00080") == 80);
}

TEST_CASE("parse_port: rejects anything else")
{
    for (const char *text : {"", "0", "65536", "99999999999999999999", "-1", "+80", " 80", "80 ",
                             "80x", "0x50", "8 0"}) {
        CAPTURE(text);
        CHECK(parse_port(text) == 0);
    }
}

// ----------------------------------------------------- parse_command_line

TEST_CASE("parse_command_line: fills in the defaults")
{
    char program[] = "client";
    char host[] = "example.org";
    char port[] = "7000";

    char *none[] = {program, nullptr};
    ServerAddress a = parse_command_line(1, none);
    CHECK(std::string(a.host) == "127.0.0.1");
    CHECK(a.port == 6666);

    char *host_only[] = {program, host, nullptr};
    a = parse_command_line(2, host_only);
    CHECK(std::string(a.host) == "example.org");
    CHECK(a.port == 6666);

    char *both[] = {program, host, port, nullptr};
    a = parse_command_line(3, both);
    CHECK(std::string(a.host) == "example.org");
    CHECK(a.port == 7000);
}

TEST_CASE("parse_command_line: bad arguments print usage and exit 2")
{
    const std::vector<std::vector<std::string>> bad = {
        {"client", "127.0.0.1", "6666", "extra"},
        {"client", "127.0.0.1", "0"},
        {"client", "127.0.0.1", "66x"},
        {"client", ""},
        {"client", "-h"},
    };
    for (const auto &args : bad) {
        CAPTURE(args.size());
        CAPTURE(args.back());
        const ChildResult r = run_in_child([&] {
            std::vector<std::string> copies = args;
            std::vector<char *> argv;
            for (auto &a : copies)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            parse_command_line(static_cast<int>(args.size()), argv.data());
        });
        CHECK(r.exit_status == kUsageStatus);
        CHECK(r.err.rfind("usage: client [HOST [PORT]]\n", 0) == 0);
        CHECK(r.out.empty());
    }
}

// ------------------------------------------------------ connect_to_server

TEST_CASE("connect_to_server: connects to an address and to a name")
{
    const testing::Listener l = testing::listen_on_loopback();
    for (const char *host : {"127.0.0.1", "localhost"}) {
        CAPTURE(host);
        const int sockfd = connect_to_server(host, l.port);
        const int connfd = accept(l.fd, nullptr, nullptr);
        CHECK(connfd >= 0);
        CHECK(send(sockfd, "x", 1, MSG_NOSIGNAL) == 1);
        char c = 0;
        CHECK(recv(connfd, &c, 1, 0) == 1);
        CHECK(c == 'x');
        testing::close_quietly(connfd);
        close(sockfd);
    }
    close(l.fd);
}

TEST_CASE("connect_to_server: a refused connection exits 1 naming the address")
{
    const std::uint16_t port = testing::unused_port();
    const ChildResult r = run_in_child([&] { connect_to_server("127.0.0.1", port); });
    CHECK(r.exit_status == 1);
    CHECK(r.err == "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused\n");
}

TEST_CASE("connect_to_server: an unknown host exits 1 naming it")
{
    // Not an address (300 > 255).  With AI_NUMERICHOST first it is refused
    // without a lookup ("not an IPv4 address"); getaddrinfo() alone looks it
    // up as a name and ends in gai_strerror's words.  The README accepts
    // either way: the line names the host, then why.
    const std::string reasons[] = {"not an IPv4 address", gai_strerror(EAI_NONAME),
                                   gai_strerror(EAI_AGAIN), gai_strerror(EAI_FAIL),
                                   gai_strerror(EAI_NODATA)};
    for (const char *host : {"300.1.2.3", "1.2.3.4.5"}) {
        CAPTURE(host);
        const ChildResult r = run_in_child([host] { connect_to_server(host, 6666); });
        CHECK(r.exit_status == 1);
        const std::string prefix = std::string("resolve ") + host + ": ";
        const bool one_line_naming_it =
            r.err.rfind(prefix, 0) == 0 && r.err.back() == '\n' &&
            std::find(std::begin(reasons), std::end(reasons),
                      r.err.substr(prefix.size(), r.err.size() - prefix.size() - 1)) !=
                std::end(reasons);
        CAPTURE(r.err);
        CHECK(one_line_naming_it);
    }
}

TEST_CASE("connect_to_server: a dotted address is taken as inet_aton() reads it")
{
    // AI_NUMERICHOST accepts the shorthand forms too: "127.1" is 127.0.0.1.
    const testing::Listener l = testing::listen_on_loopback();
    const int sockfd = connect_to_server("127.1", l.port);
    const int connfd = accept(l.fd, nullptr, nullptr);
    CHECK(connfd >= 0);
    testing::close_quietly(connfd);
    close(sockfd);
    close(l.fd);
}

// What relay() relies on at the end of input (poll(2)): a pipe whose writer
// has gone reports POLLHUP and no POLLIN once it is empty.  A client that
// waits for POLLIN alone would never see that end.
TEST_CASE("poll: an empty pipe whose writer has gone gives POLLHUP without POLLIN")
{
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    close(fds[1]);
    pollfd pfd{fds[0], POLLIN, 0};
    CHECK(poll(&pfd, 1, 5000) == 1);
    CHECK((pfd.revents & POLLHUP) != 0);
    CHECK((pfd.revents & POLLIN) == 0);
    close(fds[0]);
}

// ------------------------------------------------------------------- relay

TEST_CASE("relay: copies input to the server and every reply to stdout")
{
    // Long lines (the course note's buffer holds 80 bytes) and no final newline.
    const std::string input = random_text(100000, 1, 3000) + "no newline at the end";
    const ChildResult s = run_session(input, true, serve_promptly);
    CHECK(s.exit_status == 0);
    CHECK(testing::byte_difference(s.out, testing::uppercase_reply(input)) == "");
    CHECK(s.err.empty());
}

TEST_CASE("relay: half-closes at end of input and prints the replies still owed")
{
    const std::string input = random_text(20000, 2);
    const ChildResult s = run_session(input, true, serve_at_end_of_file);
    CHECK(s.exit_status == 0);
    CHECK(testing::byte_difference(s.out, testing::uppercase_reply(input)) == "");
}

TEST_CASE("relay: carries every byte value, NUL included")
{
    const std::string input = testing::all_byte_values() + std::string(3, '\0') + "end";
    const ChildResult s = run_session(input, true, serve_promptly);
    CHECK(s.exit_status == 0);
    CHECK(testing::byte_difference(s.out, testing::uppercase_reply(input)) == "");
}

TEST_CASE("relay: short reads, short writes and EINTR lose nothing")
{
    const std::string input = random_text(30000, 3);
    const ChildResult s = run_session(input, true, serve_promptly, [](int sockfd) {
        // Replies come 5 bytes per read, stdout takes 7 bytes per write, and
        // each starts with EINTRs (in the child only: the rules are per process).
        fakesys::set(fakesys::Call::read, {sockfd, 2, EINTR, false, 5});
        fakesys::set(fakesys::Call::write, {STDOUT_FILENO, 3, EINTR, false, 7});
    });
    CHECK(s.exit_status == 0);
    CHECK(testing::byte_difference(s.out, testing::uppercase_reply(input)) == "");
}

TEST_CASE("relay: a server that closes first ends the session with a message")
{
    const std::string input = "first line\nsecond line\n";
    // The input stays open: the user has not finished when the server leaves.
    const ChildResult s = run_session(input, false, [&](int connfd) {
        testing::write_all(connfd,
                           testing::uppercase_reply(testing::read_up_to(connfd, input.size())));
        close(connfd);
    });
    CHECK(s.exit_status == kFailureStatus);
    CHECK(testing::byte_difference(s.out, testing::uppercase_reply(input)) == "");
    CHECK(s.err == std::string(kServerClosedMessage) + "\n");
}

TEST_CASE("relay: a reset connection ends the session with a message")
{
    const ChildResult s = run_session("hello\n", false, [](int connfd) {
        testing::read_up_to(connfd, 6);
        testing::close_with_reset(connfd);
    });
    CHECK(s.exit_status == kFailureStatus);
    CHECK(s.err.find(std::strerror(ECONNRESET)) != std::string::npos);
}

TEST_CASE("relay: a read error on stdin ends the session with a message")
{
    const ChildResult r = run_in_child([] {
        const testing::TcpPair conn = testing::tcp_pair();
        const int closed_fd = dup(STDIN_FILENO);
        close(closed_fd);
        _exit(relay(closed_fd, conn.client, STDOUT_FILENO));
    });
    CHECK(r.exit_status == kFailureStatus);
    // The wording is free; the reason, strerror(errno), must be in it.
    CHECK(r.err.find(std::strerror(EBADF)) != std::string::npos);
}

TEST_CASE("relay: megabytes through a server that answers in batches")
{
    // The server reads 4 MiB, then answers all of it before it reads on; the
    // buffers of the connection hold far less.  A client that blocks in a
    // send while the replies pile up unread waits for the server, which
    // waits for the client to read: a deadlock, ended by the deadline.
    constexpr std::size_t kBatch = 4 << 20;
    const std::string input = random_text(3 * kBatch + 12345, 4);
    const auto set_buffers = [](int fd) {
        const int size = 128 * 1024; // well above the loopback MSS
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    };
    const ChildResult s = run_session(
        input, true,
        [&](int connfd) {
            set_buffers(connfd);
            for (;;) {
                const std::string batch = testing::read_up_to(connfd, kBatch);
                if (batch.empty())
                    break;
                testing::write_all(connfd, testing::uppercase_reply(batch));
            }
            close(connfd);
        },
        set_buffers);
    CHECK(s.exit_status == 0);
    CHECK(s.out.size() == input.size());
    CHECK(testing::byte_difference(s.out, testing::uppercase_reply(input)) == "");
}

TEST_CASE("relay: sleeps, without a busy loop, while the server is slow to answer")
{
    rusage before{};
    getrusage(RUSAGE_CHILDREN, &before);
    const std::string input = "take your time\n";
    const ChildResult s = run_session(input, true, [&](int connfd) {
        const std::string got =
            testing::read_up_to(connfd, std::string::npos); // until the client half-closes
        std::this_thread::sleep_for(300ms);                 // a slow server, not synchronisation
        testing::write_all(connfd, testing::uppercase_reply(got));
        close(connfd);
    });
    rusage after{};
    getrusage(RUSAGE_CHILDREN, &after);
    const auto cpu_ms = [](const rusage &r) {
        return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000L +
               (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1000L;
    };
    CHECK(s.exit_status == 0);
    CHECK(testing::byte_difference(s.out, testing::uppercase_reply(input)) == "");
    CHECK(cpu_ms(after) - cpu_ms(before) < 100); // a busy loop would use ~300 ms
}
