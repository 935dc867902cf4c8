// testing.h -- helpers for the kit's doctest unit tests (all labs).
//
// They use the raw system calls, never the wrappers under test, so that a
// broken wrapper fails its own test and not every test that needs a socket.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>
#include <string>
#include <sys/types.h>

namespace testing {

// What a function did when run in a child process.
struct ChildResult {
    int exit_status = -1; // exit status, or -1 if killed by a signal
    int signal = 0;       // the signal that killed it, or 0
    std::string err;      // everything it wrote to stderr
    std::string out;      // everything it wrote to stdout
    bool hung = false;    // killed by run_in_child: no output for its timeout
};

// Run body in a forked child with stdout and stderr captured; the child
// exits 0 if body returns.  Gives up (kills the child, and says so on
// stderr) once the child has printed nothing for `timeout`, or after ten
// times `timeout` however much it prints: a slow child that makes progress
// is waited for, a stuck one is not.
ChildResult run_in_child(const std::function<void()> &body,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A listening TCP socket on 127.0.0.1 with a kernel-chosen port.
struct Listener {
    int fd = -1;
    std::uint16_t port = 0;
};
Listener listen_on_loopback();

// Both ends of one TCP connection on loopback: client side and accepted side.
struct TcpPair {
    int client = -1;
    int server = -1;
};
TcpPair tcp_pair();

// A TcpPair whose ends are closed at the end of the scope (a test that closes
// one itself sets it to -1).
struct Connection {
    Connection();
    ~Connection();
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    int client = -1;
    int server = -1;
};

// A socket connected to 127.0.0.1:port.
int connect_to_loopback(std::uint16_t port);

// A TCP port on 127.0.0.1 where nothing listens (bound, then released).
std::uint16_t unused_port();

void close_quietly(int fd);

// Close with a reset (RST) instead of an orderly end of stream (FIN).
void close_with_reset(int fd);

// Write all of data with raw write() calls, retrying EINTR.  False if a
// write failed (errno says why; SIGPIPE must be ignored for EPIPE to show).
bool write_all(int fd, const std::string &data);

// Read with raw read() calls until limit bytes came, end of file, an error,
// or the deadline: a missing byte makes a test fail, never hang.
std::string read_up_to(int fd, std::size_t limit,
                       std::chrono::milliseconds deadline = std::chrono::seconds(10));

// True if fd reaches end of file (the peer closed) within the deadline,
// discarding whatever bytes come first.
bool reaches_eof(int fd, std::chrono::milliseconds deadline = std::chrono::seconds(5));

// The protocol's reply to data -- a-z become A-Z, every other byte stays --
// written independently of the code under test.
std::string uppercase_reply(std::string data);

// "" when got == expected; otherwise one short line for a failed CHECK: both
// sizes, the first differing offset and a few bytes around it (escaped), never
// the whole buffers.  Use CHECK(byte_difference(got, expected) == "").
std::string byte_difference(const std::string &got, const std::string &expected);

// Poll predicate until it holds or the deadline passes; returns its last value.
bool wait_until(const std::function<bool()> &predicate,
                std::chrono::milliseconds deadline = std::chrono::seconds(10));

// Kernel thread id of the calling thread.
pid_t this_thread_id();

// True while thread tid of this process is blocked inside system call nr
// (read from /proc/self/task/TID/syscall).
bool blocked_in_syscall(pid_t tid, long nr);

// Installs handler for signo *without* SA_RESTART for one scope, so a
// blocking call the signal interrupts fails with EINTR.
class ScopedSignalHandler {
  public:
    ScopedSignalHandler(int signo, void (*handler)(int));
    ~ScopedSignalHandler();
    ScopedSignalHandler(const ScopedSignalHandler &) = delete;
    ScopedSignalHandler &operator=(const ScopedSignalHandler &) = delete;

  private:
    int signo_;
    struct sigaction previous_ {};
};

// Ignores SIGPIPE for one scope.
class ScopedIgnoreSigpipe {
  public:
    ScopedIgnoreSigpipe();
    ~ScopedIgnoreSigpipe();
    ScopedIgnoreSigpipe(const ScopedIgnoreSigpipe &) = delete;
    ScopedIgnoreSigpipe &operator=(const ScopedIgnoreSigpipe &) = delete;

  private:
    struct sigaction previous_ {};
};

// Every byte value 0..255, twice: binary data with '\0' and bytes >= 0x80.
std::string all_byte_values();

} // namespace testing
