// server.cpp -- lab08: a preforked uppercase-echo server.
//
// Student file.  The parent opens the listening socket and forks WORKERS
// workers ahead of time; each worker accepts on that shared socket and
// serves one client at a time, and exits after MAXREQUESTS clients.  The
// parent never accepts: it reaps the workers that end, forks their
// replacements, and stops them all gracefully on SIGTERM or SIGINT.  Start
// from your lab06 server.cpp: the echo functions, note_signal and
// install_signal_handlers are the same.  server.h says what each function
// must do and README.md gives the steps.
//
//   server [-w WORKERS] [-m MAXREQUESTS] [PORT]   (defaults: 4, 0 = no limit, 6666)
#include "server.h"
#include "todo.h"
#include "wrap.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

volatile sig_atomic_t g_stop_signal = 0;

// BEGIN SOLUTION
namespace {

void print_usage(const char *program)
{
    std::fprintf(stderr,
                 "usage: %s [-w WORKERS] [-m MAXREQUESTS] [PORT]   "
                 "(defaults: %d workers, %d = no limit, port %u)\n",
                 program, kDefaultWorkers, kDefaultMaxRequests, unsigned{kDefaultPort});
}

// The whole of text as a number from low to high, or false.
bool parse_number(const char *text, long low, long high, long &value)
{
    const char *end = text + std::strlen(text);
    const auto [stop, error] = std::from_chars(text, end, value);
    return error == std::errc() && stop == end && value >= low && value <= high;
}

timespec to_timespec(std::chrono::nanoseconds span)
{
    if (span < std::chrono::nanoseconds::zero())
        span = std::chrono::nanoseconds::zero();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(span);
    return timespec{static_cast<time_t>(seconds.count()),
                    static_cast<long>((span - seconds).count())};
}

// Sleep until a signal in wait_mask arrives or `span` has passed.
void sleep_with_mask(std::chrono::nanoseconds span, const sigset_t &wait_mask)
{
    const timespec left = to_timespec(span);
    if (ppoll(nullptr, 0, &left, &wait_mask) < 0 && errno != EINTR)
        perr_exit("ppoll");
}

void log_end_of(pid_t pid, int status)
{
    if (WIFEXITED(status))
        std::printf("worker %d exited with status %d\n", static_cast<int>(pid),
                    WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        std::printf("worker %d killed by %s\n", static_cast<int>(pid), strsignal(WTERMSIG(status)));
}

} // namespace
// END SOLUTION

std::uint16_t port_from_args(int argc, char *argv[])
{
    // BEGIN SOLUTION stub: not_implemented("lab08: port_from_args (from lab04)", argc, argv);
    if (argc == 1)
        return kDefaultPort;
    const char *program = argc > 0 ? argv[0] : "server";
    if (argc == 2) {
        long port = 0;
        if (parse_number(argv[1], 1, 65535, port))
            return static_cast<std::uint16_t>(port);
        std::fprintf(stderr, "%s: bad port '%s': expected a number from 1 to 65535\n", program,
                     argv[1]);
    }
    print_usage(program);
    std::exit(kUsageStatus);
    // END SOLUTION
}
Options options_from_args(int argc, char *argv[])
{
    // BEGIN SOLUTION stub: not_implemented("lab08: options_from_args", argc, argv);
    const char *program = argc > 0 ? argv[0] : "server";
    Options options;
    int option;
    while ((option = getopt(argc, argv, "w:m:")) != -1) {
        long value = 0;
        if (option == 'w' && parse_number(optarg, 1, kMaxWorkers, value)) {
            options.workers = static_cast<int>(value);
        } else if (option == 'm' && parse_number(optarg, 0, kMaxRequestsLimit, value)) {
            options.max_requests = static_cast<int>(value);
        } else {
            // getopt has already named an unknown option or a missing value.
            if (option == 'w' || option == 'm')
                std::fprintf(stderr, "%s: bad -%c '%s': expected a number from %d to %d\n", program,
                             option, optarg, option == 'w' ? 1 : 0,
                             option == 'w' ? kMaxWorkers : kMaxRequestsLimit);
            print_usage(program);
            std::exit(kUsageStatus);
        }
    }
    // The operands, after the program's name: what lab04's port_from_args took.
    std::vector<char *> rest{argv[0]};
    rest.insert(rest.end(), argv + optind, argv + argc);
    options.port = port_from_args(static_cast<int>(rest.size()), rest.data());
    return options;
    // END SOLUTION
}

int open_listener(std::uint16_t port)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: open_listener (from lab04)", port);
    const int listenfd = Socket(AF_INET, SOCK_STREAM, 0);
    // Without SO_REUSEADDR, a server restarted while connections of its
    // previous run linger in TIME_WAIT cannot bind its port for a minute.
    const int on = 1;
    if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
        perr_exit("setsockopt SO_REUSEADDR");

    sockaddr_in servaddr{};
    servaddr.sin_family = AF_INET;
    servaddr.sin_addr.s_addr = htonl(INADDR_ANY);
    servaddr.sin_port = htons(port);
    Bind(listenfd, reinterpret_cast<const sockaddr *>(&servaddr), sizeof servaddr);
    Listen(listenfd, kBacklog);
    return listenfd;
    // END SOLUTION
}

void uppercase(char *buf, std::size_t n)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: uppercase (from lab04)", buf, n);
    for (std::size_t i = 0; i < n; ++i) {
        // toupper() takes an unsigned char value (or EOF): where plain char
        // is signed (x86-64; not AArch64), a byte >= 0x80 is negative, and
        // passing it is undefined behaviour.
        const auto byte = static_cast<unsigned char>(buf[i]);
        buf[i] = static_cast<char>(std::toupper(byte));
    }
    // END SOLUTION
}

void serve_client(int connfd, const sockaddr_in &cliaddr)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: serve_client (from lab04)", connfd, cliaddr);
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &cliaddr.sin_addr, addr, sizeof addr);
    const unsigned port = ntohs(cliaddr.sin_port);

    char buf[kBufferSize];
    for (;;) {
        // Whatever one read returns is answered at once: TCP is a byte
        // stream, and a line may come in pieces or many lines in one read.
        const ssize_t n = Read(connfd, buf, sizeof buf);
        if (n == 0) {
            std::printf("the other side has been closed.\n");
            return;
        }
        if (n < 0) {
            std::fprintf(stderr, "read from %s at PORT %u: %s\n", addr, port, std::strerror(errno));
            return;
        }
        std::printf("received from %s at PORT %u\n", addr, port);
        const auto count = static_cast<std::size_t>(n);
        uppercase(buf, count);
        if (Writen(connfd, buf, count) < 0) {
            std::fprintf(stderr, "write to %s at PORT %u: %s\n", addr, port, std::strerror(errno));
            return;
        }
    }
    // END SOLUTION
}

void ignore_sigpipe()
{
    // BEGIN SOLUTION stub: not_implemented("lab08: ignore_sigpipe (from lab04)");
    struct sigaction sa {};
    // A write to a client that has gone then fails (EPIPE, or ECONNRESET), and
    // only that connection ends; by default, SIGPIPE would kill the whole process.
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, nullptr) < 0)
        perr_exit("sigaction SIGPIPE");
    // END SOLUTION
}

void after_accept_error()
{
    // BEGIN SOLUTION stub: not_implemented("lab08: after_accept_error (from lab04)");
    const int err = errno;
    switch (err) {
    case EINTR:
    case ECONNABORTED:
    case EPERM:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENONET:
    case ENOPROTOOPT:
    case EOPNOTSUPP:
    case EPROTO:
        // One connection failed before we took it, and Linux reported its
        // error through accept() (accept(2), "Error handling").  The
        // listening socket is fine: accept the next client at once.
        std::fprintf(stderr, "accept: %s; accepting the next client\n", std::strerror(err));
        return;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        // Out of descriptors or memory: that passes as clients leave.  Ending
        // the service would be worse, and retrying at once would spin the CPU.
        std::fprintf(stderr, "accept: %s; trying again in %d ms\n", std::strerror(err),
                     kAcceptRetryMs);
        std::this_thread::sleep_for(std::chrono::milliseconds(kAcceptRetryMs));
        return;
    default:
        perr_exit("accept"); // EBADF, EINVAL, ENOTSOCK...: a bug in this server
    }
    // END SOLUTION
}

void note_signal(int signo)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: note_signal", signo);
    const int saved_errno = errno;
    if (signo == SIGTERM || signo == SIGINT)
        g_stop_signal = signo;
    errno = saved_errno;
    // END SOLUTION
}

sigset_t install_signal_handlers()
{
    // BEGIN SOLUTION stub: not_implemented("lab08: install_signal_handlers");
    sigset_t signals;
    sigemptyset(&signals);
    for (const int signo : {SIGCHLD, SIGTERM, SIGINT}) {
        struct sigaction sa {};
        sa.sa_handler = note_signal;
        sigemptyset(&sa.sa_mask);
        // No SA_RESTART needed: these signals are blocked except inside
        // sigsuspend and ppoll, which a handler always ends with EINTR.
        if (sigaction(signo, &sa, nullptr) < 0)
            perr_exit("sigaction");
        sigaddset(&signals, signo);
    }
    sigset_t wait_mask;
    if (sigprocmask(SIG_BLOCK, &signals, &wait_mask) < 0)
        perr_exit("sigprocmask");
    // The mask to sleep with must let the three in, even if whoever started
    // this server had blocked one of them: SIGCHLD blocked here would make
    // the wait at the cap last for ever.
    for (const int signo : {SIGCHLD, SIGTERM, SIGINT})
        sigdelset(&wait_mask, signo);
    return wait_mask;
    // END SOLUTION
}

void restore_signals_in_worker()
{
    // BEGIN SOLUTION stub: not_implemented("lab08: restore_signals_in_worker");
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    if (sigaction(SIGCHLD, &sa, nullptr) < 0)
        perr_exit("sigaction SIGCHLD");
    // Ctrl-C signals the whole process group: the workers let the parent
    // decide when they stop, and stop through its SIGTERM.
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGINT, &sa, nullptr) < 0)
        perr_exit("sigaction SIGINT");
    // SIGTERM keeps note_signal and stays blocked: a worker serving a client
    // is never interrupted by it, and sees it in its next wait.
    // END SOLUTION
}

int accept_client(int listenfd, const sigset_t &wait_mask, sockaddr_in &cliaddr)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: accept_client", listenfd, wait_mask, cliaddr);
    // ppoll, not a blocking accept: SIGTERM, blocked everywhere else, is let
    // in only for the time of this wait, so a stop never slips in between
    // the check of the flag and the sleep.  The price: poll wakes every idle
    // worker for each connection (README: the herd).
    pollfd waiting{listenfd, POLLIN, 0};
    if (ppoll(&waiting, 1, nullptr, &wait_mask) < 0) {
        if (errno != EINTR)
            perr_exit("ppoll");
        return -1;
    }
    socklen_t cliaddr_len = sizeof cliaddr;
    const int connfd = Accept(listenfd, reinterpret_cast<sockaddr *>(&cliaddr), &cliaddr_len);
    if (connfd >= 0)
        return connfd;
    // Woken with the others, and another worker took the client first: the
    // listening socket is non-blocking, so accept says so instead of sleeping
    // with SIGTERM blocked.
    if (errno != EAGAIN && errno != EWOULDBLOCK)
        after_accept_error();
    return -1;
    // END SOLUTION
}

unsigned long run_worker(int listenfd, int limit, const sigset_t &wait_mask)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: run_worker", listenfd, limit, wait_mask);
    const auto most = static_cast<unsigned long>(limit);
    unsigned long served = 0;
    while (g_stop_signal == 0 && (most == 0 || served < most)) {
        sockaddr_in cliaddr{};
        const int connfd = accept_client(listenfd, wait_mask, cliaddr);
        if (connfd < 0)
            continue;
        serve_client(connfd, cliaddr);
        Close(connfd);
        ++served;
    }
    return served;
    // END SOLUTION
}

pid_t fork_worker(int listenfd, int limit, const sigset_t &wait_mask)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: fork_worker", listenfd, limit, wait_mask);
    const pid_t pid = fork();
    if (pid < 0) {
        std::fprintf(stderr, "fork: %s; the pool is one worker short\n", std::strerror(errno));
        return -1;
    }
    if (pid == 0) {
        restore_signals_in_worker();
        run_worker(listenfd, limit, wait_mask);
        // Not return: the worker would run the parent's loop, and fork
        // workers of its own.
        _exit(0);
    }
    return pid;
    // END SOLUTION
}

void reap_workers(Pool &pool)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: reap_workers", pool);
    // while, not if: one SIGCHLD may stand for several workers.
    for (;;) {
        int status = 0;
        const pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            auto &workers = pool.workers;
            workers.erase(std::remove(workers.begin(), workers.end(), pid), workers.end());
            log_end_of(pid, status);
            continue;
        }
        // -1 with EINTR is no answer: ask again.  0 (none has ended) and
        // ECHILD (no child at all) end the loop.
        if (pid < 0 && errno == EINTR)
            continue;
        return;
    }
    // END SOLUTION
}

std::chrono::milliseconds back_off_delay(int failures)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: back_off_delay", failures);
    const int doublings = std::clamp(failures - 1, 0, 5);
    return std::chrono::milliseconds(std::min(kForkRetryMs << doublings, kForkRetryMaxMs));
    // END SOLUTION
}

void fill_pool(Pool &pool, const Options &options, int listenfd, const sigset_t &wait_mask)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: fill_pool", pool, options, listenfd, wait_mask);
    const auto workers = static_cast<std::size_t>(options.workers);
    while (pool.workers.size() < workers && Clock::now() >= pool.next_fork_at) {
        const pid_t pid = fork_worker(listenfd, options.max_requests, wait_mask);
        if (pid < 0) {
            // Out of processes: forking again at once would fail again and
            // spin.  The workers still running serve meanwhile.
            ++pool.failed_forks;
            const auto delay = back_off_delay(pool.failed_forks);
            pool.next_fork_at = Clock::now() + delay;
            std::fprintf(stderr, "fork failed %d time(s) in a row; forking again in %lld ms\n",
                         pool.failed_forks, static_cast<long long>(delay.count()));
            return;
        }
        pool.workers.push_back(pid);
        ++pool.started;
        pool.failed_forks = 0;
    }
    // END SOLUTION
}

void wait_for_change(const Pool &pool, std::size_t workers, const sigset_t &wait_mask)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: wait_for_change", pool, workers, wait_mask);
    if (g_stop_signal != 0)
        return;
    // The three signals are blocked from the caller's checks to here: one
    // that came meanwhile is pending, and ends this wait at once (lab06).
    if (pool.workers.size() >= workers)
        sigsuspend(&wait_mask);
    else
        sleep_with_mask(pool.next_fork_at - Clock::now(), wait_mask);
    // END SOLUTION
}

void stop_workers(Pool &pool, int grace_seconds, const sigset_t &wait_mask)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: stop_workers", pool, grace_seconds, wait_mask);
    // Each worker sees SIGTERM in its wait for a client: one serving a client
    // finishes it first.
    for (const pid_t pid : pool.workers)
        kill(pid, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(grace_seconds);
    reap_workers(pool);
    while (!pool.workers.empty() && Clock::now() < deadline) {
        sleep_with_mask(deadline - Clock::now(), wait_mask);
        reap_workers(pool);
    }
    pool.killed_after_grace = pool.workers.size();
    for (const pid_t pid : pool.workers)
        kill(pid, SIGKILL);
    // Every worker is reaped before the parent exits: none is left running
    // without its parent, none stays a zombie.
    while (!pool.workers.empty()) {
        sigsuspend(&wait_mask);
        reap_workers(pool);
    }
    // END SOLUTION
}

void print_summary(const Pool &pool)
{
    // BEGIN SOLUTION stub: not_implemented("lab08: print_summary", pool);
    std::printf("started %lu workers, %zu killed after the grace period\n", pool.started,
                pool.killed_after_grace);
    // END SOLUTION
}

int main(int argc, char *argv[])
{
    // BEGIN SOLUTION stub: not_implemented("lab08: main", argc, argv);
    const Options options = options_from_args(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    ignore_sigpipe();
    // Opened once, before any fork: every worker, and every replacement
    // forked later, inherits this same socket.  The parent keeps it open for
    // that, though it never accepts on it.
    const int listenfd = open_listener(options.port);
    // Non-blocking: a worker woken with the others for a client that another
    // one took gets EAGAIN from accept, and goes back to its wait.
    if (fcntl(listenfd, F_SETFL, fcntl(listenfd, F_GETFL) | O_NONBLOCK) < 0)
        perr_exit("fcntl O_NONBLOCK");
    const sigset_t wait_mask = install_signal_handlers();
    std::printf("Accepting connections on port %u ... (%d workers, %d clients each, 0 = no "
                "limit)\n",
                unsigned{options.port}, options.workers, options.max_requests);

    Pool pool;
    const auto workers = static_cast<std::size_t>(options.workers);
    for (;;) {
        reap_workers(pool);
        if (g_stop_signal != 0)
            break;
        fill_pool(pool, options, listenfd, wait_mask);
        wait_for_change(pool, workers, wait_mask);
    }

    // New clients are refused from here on; the workers finish the clients
    // they serve.
    Close(listenfd);
    std::printf("%s: stopping %zu workers, %d s of grace\n", strsignal(g_stop_signal),
                pool.workers.size(), kGraceSeconds);
    stop_workers(pool, kGraceSeconds, wait_mask);
    print_summary(pool);
    return 0;
    // END SOLUTION
}
