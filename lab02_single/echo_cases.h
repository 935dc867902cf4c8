// echo_cases.h -- doctest cases for the functions the three server labs share.
//
// port_from_args, open_listener, uppercase, serve_client, ignore_sigpipe and
// after_accept_error are the same in lab02, lab03 and lab04 (students carry
// theirs forward), so are their unit tests: each lab's test_server.cpp
// includes this file after its own server.h.  Code that must end the process
// or that logs runs in a child (testing::run_in_child), so the test sees its
// exit status and its output.
#pragma once

// No #include "server.h" here: it would find lab02's, next to this file.
#include "fakesys.h"
#include "testing.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace echo_cases {

inline bool contains(const std::string &text, const std::string &part)
{
    return text.find(part) != std::string::npos;
}

// text with A-Z in lowercase: "Usage:" and "usage:" are the same word.
inline std::string lowercase(std::string text)
{
    for (auto &c : text) {
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    }
    return text;
}

inline std::size_t count_of(const std::string &text, const std::string &part)
{
    std::size_t count = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
        ++count;
    return count;
}

// The address of the peer of fd: what accept() would have stored in cliaddr.
inline sockaddr_in peer_of(int fd)
{
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    REQUIRE(getpeername(fd, reinterpret_cast<sockaddr *>(&sa), &len) == 0);
    return sa;
}

// Wait until the peer of fd has closed its end (its FIN has arrived).
inline bool peer_has_closed(int fd)
{
    pollfd pfd{fd, POLLRDHUP, 0};
    return poll(&pfd, 1, 5000) == 1 && (pfd.revents & POLLRDHUP) != 0;
}

// What serve_client did with a client's bytes: the child that ran it, and
// the reply the client received.
struct Served {
    testing::ChildResult child;
    std::string reply;
    unsigned client_port = 0;
};

// The client sends data and half-closes; serve_client then runs on the
// server's end in a child process, as in the forking server.
inline Served serve(testing::Connection &c, const std::string &data)
{
    REQUIRE(testing::write_all(c.client, data));
    shutdown(c.client, SHUT_WR);
    const sockaddr_in peer = peer_of(c.server);
    Served served;
    served.client_port = ntohs(peer.sin_port);
    served.child = testing::run_in_child([&] { serve_client(c.server, peer); });
    // Our copy of the server's end would keep the client from seeing end of
    // file; the child's copy is already closed.
    testing::close_quietly(c.server);
    c.server = -1;
    served.reply = testing::read_up_to(c.client, std::string::npos);
    return served;
}

} // namespace echo_cases

// ---------------------------------------------------------------- uppercase

TEST_CASE("uppercase: a-z become A-Z and every other byte value is unchanged")
{
    std::string bytes = testing::all_byte_values();
    uppercase(bytes.data(), bytes.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const int value = static_cast<int>(i % 256);
        const int expected = value >= 'a' && value <= 'z' ? value - 'a' + 'A' : value;
        CAPTURE(value);
        CHECK(static_cast<unsigned char>(bytes[i]) == expected);
    }
}

TEST_CASE("uppercase: changes only the n bytes it is given")
{
    char buf[] = "abc\0def";
    uppercase(buf, 2);
    CHECK(std::string(buf, 7) == std::string("ABc\0def", 7));
    uppercase(buf, 0);
    CHECK(std::string(buf, 7) == std::string("ABc\0def", 7));
}

// ----------------------------------------------------------- port_from_args

TEST_CASE("port_from_args: 6666 without an argument")
{
    char program[] = "server";
    char *argv[] = {program, nullptr};
    CHECK(port_from_args(1, argv) == 6666);
}

TEST_CASE("port_from_args: a port number from 1 to 65535")
{
    char program[] = "server";
    for (const char *text : {"1", "80", "6666", "65535"}) {
        CAPTURE(text);
        std::string arg = text;
        char *argv[] = {program, arg.data(), nullptr};
        CHECK(port_from_args(2, argv) == std::stoi(text));
    }
}

TEST_CASE("port_from_args: bad arguments print a usage message and exit 2")
{
    char program[] = "server";
    const std::string bad[][2] = {{"abc", ""}, {"0", ""},   {"65536", ""}, {"-1", ""},
                                  {"80x", ""}, {" 80", ""}, {"", ""},      {"6666", "6667"}};
    for (const auto &args : bad) {
        std::string first = args[0];
        std::string second = args[1];
        const int argc = second.empty() ? 2 : 3;
        char *argv[] = {program, first.data(), second.empty() ? nullptr : second.data(), nullptr};
        CAPTURE(first);
        CAPTURE(second);
        const auto r = testing::run_in_child([&] { port_from_args(argc, argv); });
        CHECK(r.exit_status == kUsageStatus);
        CHECK(echo_cases::contains(echo_cases::lowercase(r.err), "usage"));
    }
}

// ------------------------------------------------------------ open_listener

TEST_CASE("open_listener: a listening socket with SO_REUSEADDR on the port")
{
    const std::uint16_t port = testing::unused_port();
    const int listenfd = open_listener(port);
    int option = 0;
    socklen_t len = sizeof option;
    REQUIRE(getsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &option, &len) == 0);
    CHECK(option != 0);
    REQUIRE(getsockopt(listenfd, SOL_SOCKET, SO_ACCEPTCONN, &option, &len) == 0);
    CHECK(option != 0);
    sockaddr_in bound{};
    len = sizeof bound;
    REQUIRE(getsockname(listenfd, reinterpret_cast<sockaddr *>(&bound), &len) == 0);
    CHECK(ntohs(bound.sin_port) == port);

    const int client = testing::connect_to_loopback(port);
    const int connfd = accept(listenfd, nullptr, nullptr);
    CHECK(connfd >= 0);
    testing::close_quietly(connfd);
    close(client);
    close(listenfd);
}

TEST_CASE("open_listener: binds the port again at once after a restart")
{
    const std::uint16_t port = testing::unused_port();
    const auto r = testing::run_in_child([port] {
        const int listenfd = open_listener(port);
        const int client = testing::connect_to_loopback(port);
        const int connfd = accept(listenfd, nullptr, nullptr);
        // The server's end closes first, as when a server is stopped with
        // clients connected: that end of the connection lingers (FIN_WAIT2,
        // then TIME_WAIT) and holds the port.
        close(connfd);
        close(listenfd);
        char byte;
        if (read(client, &byte, 1) != 0)
            std::printf("no end of file\n");
        close(client);
        close(open_listener(port));
        std::printf("bound again\n");
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "bound again\n");
    CHECK(r.err == "");
}

TEST_CASE("open_listener: a port in use exits 1 with a message that says so")
{
    const testing::Listener busy = testing::listen_on_loopback();
    const auto r = testing::run_in_child([&] { open_listener(busy.port); });
    close(busy.fd);
    CHECK(r.exit_status == 1);
    CHECK(echo_cases::contains(r.err, std::to_string(busy.port)));
    CHECK(echo_cases::contains(r.err, std::strerror(EADDRINUSE)));
}

// ------------------------------------------------------------- serve_client

TEST_CASE("serve_client: echoes in uppercase until the client closes, and logs it")
{
    testing::Connection c;
    const auto served = echo_cases::serve(c, "Hello, World! 123\nsecond line: ok?\n");
    CHECK(served.child.exit_status == 0);
    CHECK(served.reply == "HELLO, WORLD! 123\nSECOND LINE: OK?\n");
    const std::string &log = served.child.out;
    CHECK(echo_cases::contains(log, "received from 127.0.0.1 at PORT " +
                                        std::to_string(served.client_port) + "\n"));
    const std::string closed = "the other side has been closed.\n";
    CHECK((log.size() >= closed.size() &&
           log.compare(log.size() - closed.size(), closed.size(), closed) == 0));
}

TEST_CASE("serve_client: replies at once to bytes without a newline")
{
    testing::Connection c;
    std::string reply;
    std::thread client([&] {
        CHECK(testing::write_all(c.client, "no newline here"));
        reply = testing::read_up_to(c.client, 15);
        shutdown(c.client, SHUT_WR);
    });
    const sockaddr_in peer = echo_cases::peer_of(c.server);
    const auto r = testing::run_in_child([&] { serve_client(c.server, peer); });
    client.join();
    CHECK(r.exit_status == 0);
    CHECK(reply == "NO NEWLINE HERE");
}

TEST_CASE("serve_client: every byte value, across several buffers")
{
    testing::Connection c;
    std::string data;
    while (data.size() < 3 * kBufferSize + 100)
        data += testing::all_byte_values();
    const auto served = echo_cases::serve(c, data);
    CHECK(served.child.exit_status == 0);
    CHECK(testing::byte_difference(served.reply, testing::uppercase_reply(data)) == "");
}

TEST_CASE("serve_client: short reads and writes lose nothing")
{
    testing::Connection c;
    std::string data;
    for (int i = 0; i < 200; ++i)
        data += "line " + std::to_string(i) + " of many\n";
    fakesys::Scope reads(fakesys::Call::read, fakesys::Rule{c.server, 2, EINTR, false, 7});
    fakesys::Scope writes(fakesys::Call::write, fakesys::Rule{c.server, 2, EINTR, false, 5});
    const auto served = echo_cases::serve(c, data);
    CHECK(served.child.exit_status == 0);
    CHECK(testing::byte_difference(served.reply, testing::uppercase_reply(data)) == "");
}

TEST_CASE("serve_client: a reset connection ends it, not the process")
{
    testing::Connection c;
    const sockaddr_in peer = echo_cases::peer_of(c.server);
    testing::close_with_reset(c.client);
    c.client = -1;
    const auto r = testing::run_in_child([&] {
        serve_client(c.server, peer);
        std::printf("returned\n");
    });
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "returned\n"));
    CHECK(echo_cases::contains(r.err, std::strerror(ECONNRESET)));
}

TEST_CASE("serve_client: a client that has gone ends it with EPIPE, not SIGPIPE")
{
    testing::Connection c;
    const sockaddr_in peer = echo_cases::peer_of(c.server);
    // The client sends several buffers' worth and closes before any reply
    // comes.  The first reply makes its kernel answer with a reset; the
    // next write finds the connection gone: EPIPE, or death by SIGPIPE.
    REQUIRE(testing::write_all(c.client, std::string(8 * kBufferSize, 'x')));
    close(c.client);
    c.client = -1;
    REQUIRE(echo_cases::peer_has_closed(c.server));
    const auto r = testing::run_in_child([&] {
        ignore_sigpipe();
        serve_client(c.server, peer);
        std::printf("returned\n");
    });
    CHECK(r.signal == 0);
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "returned\n"));
    CHECK(echo_cases::contains(r.err, std::strerror(EPIPE)));
}

// ----------------------------------------------------------- ignore_sigpipe

TEST_CASE("ignore_sigpipe: a write to a closed connection fails with EPIPE")
{
    const auto r = testing::run_in_child([] {
        ignore_sigpipe();
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
            return;
        close(fds[1]);
        const bool epipe = write(fds[0], "x", 1) < 0 && errno == EPIPE;
        std::printf("%s\n", epipe ? "EPIPE" : "no EPIPE");
    });
    CHECK(r.signal == 0);
    CHECK(r.out == "EPIPE\n");
}

// ------------------------------------------------------- after_accept_error

TEST_CASE("after_accept_error: after EMFILE it pauses, then returns")
{
    const auto started = std::chrono::steady_clock::now();
    const auto r = testing::run_in_child([] {
        errno = EMFILE;
        after_accept_error();
        std::printf("returned\n");
    });
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(r.exit_status == 0);
    CHECK(r.out == "returned\n");
    CHECK(echo_cases::contains(r.err, std::strerror(EMFILE)));
    CHECK(elapsed >= std::chrono::milliseconds(kAcceptRetryMs / 2));
}

// The errors Linux passes through accept() from one new connection
// (accept(2), "Error handling"): the server must go on accepting.
TEST_CASE("after_accept_error: an error of one connection returns at once")
{
    for (const int err : {ECONNABORTED, EPERM, ENETDOWN, ENETUNREACH, EHOSTDOWN, EHOSTUNREACH,
                          ENONET, ENOPROTOOPT, EOPNOTSUPP, EPROTO}) {
        CAPTURE(std::strerror(err));
        const auto r = testing::run_in_child([err] {
            errno = err;
            after_accept_error();
            std::printf("returned\n");
        });
        CHECK(r.exit_status == 0);
        CHECK(r.out == "returned\n");
        CHECK(echo_cases::contains(r.err, std::strerror(err)));
    }
}

TEST_CASE("after_accept_error: other errors exit 1 naming accept")
{
    for (const int err : {EBADF, EFAULT, EINVAL, ENOTSOCK}) {
        CAPTURE(std::strerror(err));
        const auto r = testing::run_in_child([err] {
            errno = err;
            after_accept_error();
        });
        CHECK(r.exit_status == 1);
        CHECK(r.err == std::string("accept: ") + std::strerror(err) + "\n");
    }
}
