// server.h -- the functions of lab08's preforked server: a pool of worker
// processes forked ahead of time, each accepting on the shared listening
// socket, and a parent that only supervises them.
//
// Kit file: server.cpp (the student file) defines these, and the unit tests
// (test_server.cpp) call them one by one.  The first six are lab06's (their
// cases are ../lab02_single/echo_cases.h); port_from_args prints the new
// usage line.  Everything after them is new.
//
// The protocol: every byte a client sends comes back, in order, with a-z
// turned into A-Z and every other byte unchanged.  There is no framing: a
// reply never waits for a newline.
#pragma once

#include <chrono>
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

// Connections the kernel holds, handshake done, until a worker's accept()
// takes them (capped at net.core.somaxconn, listen(2)).  When every worker
// is busy, new clients wait here: neither refused nor dropped.
constexpr int kBacklog = SOMAXCONN;

// How long the accept loop pauses after running out of descriptors or memory.
constexpr int kAcceptRetryMs = 100;

// Workers without -w, and the largest -w accepted.
constexpr int kDefaultWorkers = 4;
constexpr int kMaxWorkers = 256;

// Clients a worker serves before it exits, without -m (0: no limit), and the
// largest -m accepted.
constexpr int kDefaultMaxRequests = 0;
constexpr int kMaxRequestsLimit = 1000000;

// Seconds the workers get to finish their clients after SIGTERM or SIGINT;
// those still serving then are killed.
constexpr int kGraceSeconds = 3;

// After fork() fails, the parent waits kForkRetryMs before it forks again,
// twice as long after each further failure in a row, at most kForkRetryMaxMs.
constexpr int kForkRetryMs = 100;
constexpr int kForkRetryMaxMs = 3200;

// `server [-w WORKERS] [-m MAXREQUESTS] [PORT]`.
struct Options {
    std::uint16_t port = kDefaultPort;
    int workers = kDefaultWorkers;
    int max_requests = kDefaultMaxRequests;
};

// The port of the operands left after the options: kDefaultPort when there
// is none, the number when there is one from 1 to 65535.  Anything else
// prints a usage message on stderr ("usage: server [-w WORKERS] [-m
// MAXREQUESTS] [PORT]") and exits with kUsageStatus.  argv[0] is the
// program's name.
std::uint16_t port_from_args(int argc, char *argv[]);

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

// ------------------------------------------------------------- new in lab08

// The whole command line: -w from 1 to kMaxWorkers, -m from 0 to
// kMaxRequestsLimit, then port_from_args on what is left.  An unknown
// option, a missing or bad number: a usage message on stderr and exit
// kUsageStatus.
Options options_from_args(int argc, char *argv[]);

// 0 until SIGTERM or SIGINT arrives, then that signal's number.  Set by the
// handler, read by the parent's loop and by each worker's.
extern volatile sig_atomic_t g_stop_signal;

// The handler of SIGCHLD, SIGTERM and SIGINT (lab06's): SIGTERM and SIGINT
// set g_stop_signal; SIGCHLD does nothing else than arrive, which is what
// ends the parent's wait.  Keeps errno as it found it.
void note_signal(int signo);

// Install note_signal for SIGCHLD, SIGTERM and SIGINT, and block the three
// (lab06's): they are delivered only inside the calls that wait with the
// mask this returns -- the mask from before, with the three unblocked.
sigset_t install_signal_handlers();

// ---- the worker

// In a newly forked worker: SIGCHLD back to its default action and SIGINT
// ignored (Ctrl-C reaches the whole process group; the parent decides when
// workers stop).  SIGTERM keeps note_signal and stays blocked outside the
// worker's wait, so that a worker serving a client finishes that client
// first.
void restore_signals_in_worker();

// Wait with ppoll(&wait_mask) until a client is waiting on listenfd (which
// is non-blocking, shared by every worker) or a signal arrives; then accept
// the client.  Returns the connected socket (cliaddr filled in), or -1 when
// a signal ended the wait, when another worker took the client first
// (EAGAIN), or when accept failed (after_accept_error has dealt with it).
int accept_client(int listenfd, const sigset_t &wait_mask, sockaddr_in &cliaddr);

// A worker's life: accept a client, serve it, close it, again, until it has
// served `limit` clients (0: no limit) or g_stop_signal is set.  One client
// at a time.  Returns the number of clients served.
unsigned long run_worker(int listenfd, int limit, const sigset_t &wait_mask);

// Fork a worker: the child calls restore_signals_in_worker, then
// run_worker, then exits with status 0 -- it never returns.  The parent gets
// the worker's pid, or -1 when fork() failed (logged on stderr).
pid_t fork_worker(int listenfd, int limit, const sigset_t &wait_mask);

// ---- the parent, which never accepts

using Clock = std::chrono::steady_clock;

// The workers running now, and what the summary line reports.  Only the
// parent's loop changes it (never a handler).
struct Pool {
    std::vector<pid_t> workers;       // forked and not reaped yet
    unsigned long started = 0;        // workers forked since the start
    int failed_forks = 0;             // fork() failures in a row
    Clock::time_point next_fork_at{}; // no fork before this, after a failure
    std::size_t killed_after_grace = 0;
};

// Reap every worker that has ended (exited, or killed by a signal), without
// blocking, and remove it from pool.workers; log "worker PID exited with
// status N" or "worker PID killed by SIGNAL" for each.  A waitpid that
// fails with EINTR is called again: only 0 or ECHILD mean none is left.
void reap_workers(Pool &pool);

// Delay before the next fork after the failures-th failed fork() in a row:
// kForkRetryMs doubled failures - 1 times, at most kForkRetryMaxMs.
std::chrono::milliseconds back_off_delay(int failures);

// Fork workers (fork_worker, each to serve options.max_requests clients)
// until pool.workers holds options.workers of them, unless the back-off
// after a failed fork has not passed yet.  A failed
// fork stops the filling: pool.failed_forks counts it and
// pool.next_fork_at is set back_off_delay later.  A fork that works resets
// the count.  Never exits because fork() failed.
void fill_pool(Pool &pool, const Options &options, int listenfd, const sigset_t &wait_mask);

// Sleep (no CPU) until something changes: a SIGCHLD, a stop signal, or,
// when the pool is short of workers, until pool.next_fork_at.  The signals
// are let in only inside the call that sleeps (sigsuspend or ppoll with
// wait_mask), so none that came since the last check is lost.
void wait_for_change(const Pool &pool, std::size_t workers, const sigset_t &wait_mask);

// The graceful stop, once the listening socket is closed: SIGTERM to every
// worker (each finishes its current client and exits), wait up to
// grace_seconds for them (reaping them), SIGKILL those still running
// (counted in killed_after_grace), and reap every one before returning.
void stop_workers(Pool &pool, int grace_seconds, const sigset_t &wait_mask);

// Print "started N workers, K killed after the grace period" on stdout.
void print_summary(const Pool &pool);
