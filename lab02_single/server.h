// server.h -- the functions of lab02's iterative uppercase-echo server.
//
// Kit file: server.cpp (the student file) defines these, and the unit tests
// (test_server.cpp, echo_cases.h) call them one by one.  lab03_fork and
// lab04_sigchld declare the same functions in their own server.h and add
// theirs: what you write here travels on unchanged.
//
// The protocol: every byte a client sends comes back, in order, with a-z
// turned into A-Z and every other byte unchanged.  There is no framing: a
// reply never waits for a newline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <netinet/in.h>
#include <sys/socket.h>

// The port without an argument: the course note's client port (its server's 800
// needs root, and a client that knocks on 6666 finds nobody there).
constexpr std::uint16_t kDefaultPort = 6666;

// Exit status for a bad command line (the usual one for usage errors).
constexpr int kUsageStatus = 2;

// Bytes serve_client reads at a time.  Any size works, because a reply is
// whatever one read returned; the course note's 80 only meant more reads.
constexpr std::size_t kBufferSize = 4096;

// Connections the kernel may hold, handshake done, until accept() takes
// them.  The kernel caps it at net.core.somaxconn (listen(2)); Linux holds
// one more than the backlog, and beyond that drops the SYN -- and also the
// handshake's last ACK, so a client's connect() can succeed while the
// connection is still half-open here.
constexpr int kBacklog = SOMAXCONN;

// How long the accept loop pauses after running out of descriptors or memory.
constexpr int kAcceptRetryMs = 100;

// The port of `server [PORT]`: kDefaultPort without an argument.  Anything
// else than one number from 1 to 65535 prints a usage message on stderr and
// exits with kUsageStatus.  The wording is yours; the message must contain
// the word "usage" (any case: "usage: server [PORT]", "Usage: ...").
std::uint16_t port_from_args(int argc, char *argv[]);

// A TCP socket listening on every interface at port, with SO_REUSEADDR so
// that a restarted server gets its port back at once.  Exits 1 through the
// wrappers ("bind to 0.0.0.0:6666: Address already in use") on failure.
int open_listener(std::uint16_t port);

// Uppercase buf[0..n) in place: a-z become A-Z, every other byte is unchanged.
void uppercase(char *buf, std::size_t n);

// Echo what the client on connfd sends back in uppercase, one read at a time,
// until the client closes (logs "the other side has been closed.") or the
// connection fails (logs the error on stderr).  Logs "received from IP at
// PORT N" for every read.  Returns; the caller closes connfd.
void serve_client(int connfd, const sockaddr_in &cliaddr);

// Ignore SIGPIPE, so that writing to a client that has gone fails -- EPIPE, or
// ECONNRESET when its reset arrived first (send(2)) -- instead of killing the
// process.
void ignore_sigpipe();

// What the accept loop does after Accept returned -1, by errno:
//   * an error of that one connection, which Linux passes through accept()
//     (accept(2), "Error handling"): EINTR, ECONNABORTED, EPERM (a firewall),
//     ENETDOWN, ENETUNREACH, EHOSTDOWN, EHOSTUNREACH, ENONET, ENOPROTOOPT,
//     EOPNOTSUPP, EPROTO -- log it and return at once, so the loop accepts
//     the next client (lab01's Accept already retries these; a server must
//     not die on one network event even if its Accept does not);
//   * a lack of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM): log it, pause
//     kAcceptRetryMs and return, so the loop tries again;
//   * anything else (EBADF, EFAULT, EINVAL, ENOTSOCK: a bug in this server):
//     perr_exit("accept").
void after_accept_error();
