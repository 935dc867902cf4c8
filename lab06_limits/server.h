// server.h -- the functions of lab06's forking server that knows its limits.
//
// Kit file: server.cpp (the student file) defines these, and the unit tests
// (test_server.cpp) call them one by one.  The first seven are lab04's (their
// cases are ../lab02_single/echo_cases.h and ../lab03_fork/fork_cases.h);
// port_from_args prints the new usage line and fork_child's child puts the
// signals back as it found them.  Everything after them is new: a cap on the
// children, a wait for SIGCHLD without the lost-wakeup race, and a graceful
// stop on SIGTERM or SIGINT.
//
// The protocol: every byte a client sends comes back, in order, with a-z
// turned into A-Z and every other byte unchanged.  There is no framing: a
// reply never waits for a newline.
#pragma once

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <vector>

// The port without an argument.
constexpr std::uint16_t kDefaultPort = 6666;

// Exit status for a bad command line (the usual one for usage errors).
constexpr int kUsageStatus = 2;

// Bytes serve_client reads at a time.
constexpr std::size_t kBufferSize = 4096;

// Connections the kernel holds, handshake done, until accept() takes them
// (capped at net.core.somaxconn, listen(2)).  At the cap on children, the
// clients that arrive wait here: neither refused nor dropped -- until the
// listening socket is closed, which resets those still queued (ECONNRESET).
constexpr int kBacklog = SOMAXCONN;

// How long the accept loop pauses after running out of descriptors or memory.
constexpr int kAcceptRetryMs = 100;

// Children at most without -n, and the largest -n accepted.  64 serving
// processes are far below a user's RLIMIT_NPROC on a desktop, and enough
// for a course's load tests.
constexpr int kDefaultMaxChildren = 64;
constexpr int kMaxChildrenLimit = 4096;

// Seconds the children get to finish their clients after SIGTERM or SIGINT,
// without -g, and the longest -g accepted.
constexpr int kDefaultGraceSeconds = 10;
constexpr int kMaxGraceSeconds = 3600;

// After fork() fails, the parent waits kForkRetryMs before it accepts again,
// twice as long after each further failure in a row, at most kForkRetryMaxMs.
constexpr int kForkRetryMs = 100;
constexpr int kForkRetryMaxMs = 3200;

// `server [-n MAX_CHILDREN] [-g GRACE_SECONDS] [PORT]`.
struct Options {
    std::uint16_t port = kDefaultPort;
    int max_children = kDefaultMaxChildren;
    int grace_seconds = kDefaultGraceSeconds;
};

// The port of the operands left after the options: kDefaultPort when there
// is none, the number when there is one from 1 to 65535.  Anything else
// prints a usage message on stderr ("usage: server [-n MAX_CHILDREN] [-g
// GRACE_SECONDS] [PORT]") and exits with kUsageStatus.  argv[0] is the
// program's name.
std::uint16_t port_from_args(int argc, char *argv[]);

// The whole command line: -n from 1 to kMaxChildrenLimit, -g from 0 to
// kMaxGraceSeconds, then port_from_args on what is left.  An unknown
// option, a missing or bad number: a usage message on stderr and exit
// kUsageStatus.
Options options_from_args(int argc, char *argv[]);

// A TCP socket listening on every interface at port, with SO_REUSEADDR.
// Exits 1 through the wrappers on failure.
int open_listener(std::uint16_t port);

// Uppercase buf[0..n) in place: a-z become A-Z, every other byte is unchanged.
void uppercase(char *buf, std::size_t n);

// Echo what the client on connfd sends back in uppercase, one read at a time,
// until the client closes (logs "the other side has been closed.") or the
// connection fails (logs the error on stderr).  Logs "received from IP at
// PORT N" for every read.  Returns; the caller closes connfd.
void serve_client(int connfd, const sockaddr_in &cliaddr);

// Ignore SIGPIPE: a write to a client that has gone fails with EPIPE or
// ECONNRESET (send(2)).
void ignore_sigpipe();

// What the accept loop does after Accept returned -1 (lab04's contract): an
// error of that one connection is logged and returns at once; EMFILE,
// ENFILE, ENOBUFS, ENOMEM are logged and pause kAcceptRetryMs; anything else
// is a bug in this server: perr_exit("accept").
void after_accept_error();

// Fork a child that puts its signals back (restore_signals_in_child), serves
// the client on connfd and exits with status 0 -- it never returns.  In the
// parent, close connfd and return the child's pid.  When fork() fails, log
// it on stderr, close connfd and return -1.
pid_t fork_child(int listenfd, int connfd, const sockaddr_in &cliaddr);

// ------------------------------------------------------------- new in lab06

// 0 until SIGTERM or SIGINT arrives, then that signal's number.  Set by the
// handler and read by the main loop: besides lock-free atomics, a volatile
// sig_atomic_t is the only object a handler may write and the program then
// read with a defined result (C11 5.1.2.3, C++17 [intro.execution]).  Each
// load and store is whole; a ++ or -- is not.
extern volatile sig_atomic_t g_stop_signal;

// The children running now, and what the summary line reports.  Only the
// main loop changes it (never a handler): add_child after each fork,
// reap_children after each wake-up.
struct Children {
    std::vector<pid_t> running;          // forked and not reaped yet
    unsigned long served = 0;            // children forked since the start
    std::size_t most_at_once = 0;        // the largest size running ever had
    std::size_t stopped_after_grace = 0; // sent SIGTERM when the grace ran out
};

// Record a child that fork_child has just started.
void add_child(Children &children, pid_t pid);

// Reap every child that has exited, without blocking, and remove it from
// children.running.  Called by the main loop, not by a handler.
void reap_children(Children &children);

// The handler of SIGCHLD, SIGTERM and SIGINT.  SIGTERM and SIGINT set
// g_stop_signal; SIGCHLD does nothing else than arrive, which is what ends
// the parent's wait.  Keeps errno as it found it.
void note_signal(int signo);

// Install note_signal for SIGCHLD, SIGTERM and SIGINT, and block the three
// with sigprocmask: from here on they are delivered only inside the calls
// that wait with the mask this returns (sigsuspend, ppoll) -- the signal
// mask from before, with the three unblocked.  Exits through perr_exit if a
// call fails.
sigset_t install_signal_handlers();

// In a newly forked child, before it serves its client: SIGTERM and SIGCHLD
// back to their default actions, SIGINT ignored (a Ctrl-C in the terminal
// reaches the whole process group; the parent decides when children stop),
// then the three unblocked.  Dispositions first: a SIGTERM that came
// between fork() and here is still pending, and then ends the child.
void restore_signals_in_child();

// Return once children.running holds fewer than max_children, or once
// g_stop_signal is set.  Sleeps (uses no CPU) until a SIGCHLD or a stop
// signal, without the lost-wakeup race: the count is checked while the
// signals are blocked, and sigsuspend(&wait_mask) unblocks them and sleeps
// in one step.  Reaps after each wake-up.
void wait_for_free_slot(Children &children, std::size_t max_children, const sigset_t &wait_mask);

// Wait with ppoll(&wait_mask) until a client is waiting on listenfd or a
// signal arrives; then accept the client.  Returns the connected socket
// (cliaddr filled in), or -1 when a signal ended the wait or accept failed
// (after_accept_error has dealt with it).
int accept_client(int listenfd, const sigset_t &wait_mask, sockaddr_in &cliaddr);

// After the failures-th failed fork() in a row: sleep kForkRetryMs doubled
// failures - 1 times (at most kForkRetryMaxMs), with ppoll(&wait_mask), so
// that a stop signal ends the sleep at once.
void back_off(int failures, const sigset_t &wait_mask);

// The graceful stop, once the listening socket is closed: wait up to
// grace_seconds for the children to finish their clients (reaping them),
// send SIGTERM to those still running (counted in stopped_after_grace), and
// reap every one of them before returning.
void finish_children(Children &children, int grace_seconds, const sigset_t &wait_mask);

// Print "served N clients, at most M children at once, K stopped after the
// grace period" on stdout.
void print_summary(const Children &children);
