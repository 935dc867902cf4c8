// server.cpp -- lab06: a forking uppercase-echo server that knows its limits.
//
// Student file.  lab04's server, made fit to deploy: it never runs more than
// MAX children at once (further clients wait in the listen backlog), sleeps
// until a child exits without the lost-wakeup race, and stops gracefully on
// SIGTERM or SIGINT.  Start from your lab04 server.cpp: copy its functions
// over (port_from_args gets the new usage line, fork_child one new call in
// the child); reaping moves from the SIGCHLD handler to the main loop, and
// the rest is new.  server.h says what each function must do and README.md
// gives the steps.
//
//   server [-n MAX_CHILDREN] [-g GRACE_SECONDS] [PORT]   (defaults: 64, 10, 6666)
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
                 "usage: %s [-n MAX_CHILDREN] [-g GRACE_SECONDS] [PORT]   "
                 "(defaults: %d children, %d s, port %u)\n",
                 program, kDefaultMaxChildren, kDefaultGraceSeconds, unsigned{kDefaultPort});
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
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(span);
    return timespec{static_cast<time_t>(seconds.count()),
                    static_cast<long>((span - seconds).count())};
}

} // namespace
// END SOLUTION

std::uint16_t port_from_args(int argc, char *argv[])
{
    // BEGIN SOLUTION stub: not_implemented("lab06: port_from_args (from lab04)", argc, argv);
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
    // BEGIN SOLUTION stub: not_implemented("lab06: options_from_args", argc, argv);
    const char *program = argc > 0 ? argv[0] : "server";
    Options options;
    int option;
    while ((option = getopt(argc, argv, "n:g:")) != -1) {
        long value = 0;
        if (option == 'n' && parse_number(optarg, 1, kMaxChildrenLimit, value)) {
            options.max_children = static_cast<int>(value);
        } else if (option == 'g' && parse_number(optarg, 0, kMaxGraceSeconds, value)) {
            options.grace_seconds = static_cast<int>(value);
        } else {
            // getopt has already named an unknown option or a missing value.
            if (option == 'n' || option == 'g')
                std::fprintf(stderr, "%s: bad -%c '%s': expected a number from %d to %d\n", program,
                             option, optarg, option == 'n' ? 1 : 0,
                             option == 'n' ? kMaxChildrenLimit : kMaxGraceSeconds);
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
    // BEGIN SOLUTION stub: not_implemented("lab06: open_listener (from lab04)", port);
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
    // BEGIN SOLUTION stub: not_implemented("lab06: uppercase (from lab04)", buf, n);
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
    // BEGIN SOLUTION stub: not_implemented("lab06: serve_client (from lab04)", connfd, cliaddr);
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
    // BEGIN SOLUTION stub: not_implemented("lab06: ignore_sigpipe (from lab04)");
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
    // BEGIN SOLUTION stub: not_implemented("lab06: after_accept_error (from lab04)");
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

pid_t fork_child(int listenfd, int connfd, const sockaddr_in &cliaddr)
{
    // BEGIN SOLUTION stub: not_implemented("lab06: fork_child", listenfd, connfd, cliaddr);
    const pid_t pid = fork();
    if (pid < 0) {
        std::fprintf(stderr, "fork: %s; connection dropped\n", std::strerror(errno));
        Close(connfd);
        return -1;
    }
    if (pid == 0) {
        // The child inherited the parent's blocked signals and handlers: as
        // they are, SIGTERM would never end it.
        restore_signals_in_child();
        Close(listenfd);
        serve_client(connfd, cliaddr);
        Close(connfd);
        _exit(0);
    }
    Close(connfd);
    return pid;
    // END SOLUTION
}

void add_child(Children &children, pid_t pid)
{
    // BEGIN SOLUTION stub: not_implemented("lab06: add_child", children, pid);
    children.running.push_back(pid);
    ++children.served;
    children.most_at_once = std::max(children.most_at_once, children.running.size());
    // END SOLUTION
}

void reap_children(Children &children)
{
    // BEGIN SOLUTION stub: not_implemented("lab06: reap_children", children);
    // Still while + WNOHANG: one SIGCHLD may stand for several children.
    // Here, in the main loop, the count can be a plain vector: no handler
    // ever touches it.
    pid_t pid;
    while ((pid = waitpid(-1, nullptr, WNOHANG)) > 0) {
        auto &running = children.running;
        running.erase(std::remove(running.begin(), running.end(), pid), running.end());
    }
    // END SOLUTION
}

void note_signal(int signo)
{
    // BEGIN SOLUTION stub: not_implemented("lab06: note_signal", signo);
    const int saved_errno = errno;
    if (signo == SIGTERM || signo == SIGINT)
        g_stop_signal = signo;
    errno = saved_errno;
    // END SOLUTION
}

sigset_t install_signal_handlers()
{
    // BEGIN SOLUTION stub: not_implemented("lab06: install_signal_handlers");
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

void restore_signals_in_child()
{
    // BEGIN SOLUTION stub: not_implemented("lab06: restore_signals_in_child");
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    if (sigaction(SIGTERM, &sa, nullptr) < 0 || sigaction(SIGCHLD, &sa, nullptr) < 0)
        perr_exit("sigaction");
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGINT, &sa, nullptr) < 0)
        perr_exit("sigaction SIGINT");
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGCHLD);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    if (sigprocmask(SIG_UNBLOCK, &signals, nullptr) < 0)
        perr_exit("sigprocmask");
    // END SOLUTION
}

void wait_for_free_slot(Children &children, std::size_t cap, const sigset_t &wait_mask)
{
    // BEGIN SOLUTION stub: not_implemented("lab06: wait_for_free_slot", children, cap, wait_mask);
    if (children.running.size() >= cap && g_stop_signal == 0)
        std::printf("at the cap: %zu children; waiting for one to exit\n", children.running.size());
    while (children.running.size() >= cap && g_stop_signal == 0) {
        // SIGCHLD is blocked from the check above to this call: a child that
        // exits in between leaves its signal pending, and sigsuspend, which
        // unblocks it and sleeps in one step, returns at once.  Unblocking
        // first and then calling pause() would lose that signal and sleep
        // with a free slot (TLPI 22.9).
        sigsuspend(&wait_mask);
        reap_children(children);
    }
    // END SOLUTION
}

int accept_client(int listenfd, const sigset_t &wait_mask, sockaddr_in &cliaddr)
{
    // BEGIN SOLUTION stub: not_implemented("lab06: accept_client", listenfd, wait_mask, cliaddr);
    // ppoll, not poll: the signals are let in only for the time of the wait,
    // in the same step (ppoll(2)); a SIGTERM during it ends it with EINTR.
    pollfd waiting{listenfd, POLLIN, 0};
    if (ppoll(&waiting, 1, nullptr, &wait_mask) < 0) {
        if (errno != EINTR)
            perr_exit("ppoll");
        return -1;
    }
    socklen_t cliaddr_len = sizeof cliaddr;
    const int connfd = Accept(listenfd, reinterpret_cast<sockaddr *>(&cliaddr), &cliaddr_len);
    if (connfd < 0)
        after_accept_error();
    return connfd;
    // END SOLUTION
}

void back_off(int failures, const sigset_t &wait_mask)
{
    // BEGIN SOLUTION stub: not_implemented("lab06: back_off", failures, wait_mask);
    // Out of processes: retrying at once would fail again and spin.  Wait,
    // longer each time, and let the children that finish free their slots.
    const int doublings = std::min(failures - 1, 5);
    const int delay_ms = std::min(kForkRetryMs << doublings, kForkRetryMaxMs);
    std::fprintf(stderr, "fork failed %d time(s) in a row; accepting again in %d ms\n", failures,
                 delay_ms);
    const timespec delay = to_timespec(std::chrono::milliseconds(delay_ms));
    if (ppoll(nullptr, 0, &delay, &wait_mask) < 0 && errno != EINTR)
        perr_exit("ppoll");
    // END SOLUTION
}

void finish_children(Children &children, int grace, const sigset_t &wait_mask)
{
    // BEGIN SOLUTION stub: not_implemented("lab06: finish_children", children, grace, wait_mask);
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + std::chrono::seconds(grace);
    reap_children(children);
    while (!children.running.empty() && Clock::now() < deadline) {
        const timespec left = to_timespec(deadline - Clock::now());
        if (ppoll(nullptr, 0, &left, &wait_mask) < 0 && errno != EINTR)
            perr_exit("ppoll");
        reap_children(children);
    }
    children.stopped_after_grace = children.running.size();
    for (const pid_t pid : children.running)
        kill(pid, SIGTERM);
    // Every child is reaped before the parent exits: none is left running
    // without its parent, none stays a zombie.
    while (!children.running.empty()) {
        sigsuspend(&wait_mask);
        reap_children(children);
    }
    // END SOLUTION
}

void print_summary(const Children &children)
{
    // BEGIN SOLUTION stub: not_implemented("lab06: print_summary", children);
    std::printf("served %lu clients, at most %zu children at once, %zu stopped after the grace "
                "period\n",
                children.served, children.most_at_once, children.stopped_after_grace);
    // END SOLUTION
}

int main(int argc, char *argv[])
{
    // BEGIN SOLUTION stub: not_implemented("lab06: main", argc, argv);
    const Options options = options_from_args(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    ignore_sigpipe();
    const int listenfd = open_listener(options.port);
    const sigset_t wait_mask = install_signal_handlers();
    std::printf("Accepting connections on port %u ... (at most %d children, %d s of grace)\n",
                unsigned{options.port}, options.max_children, options.grace_seconds);

    Children children;
    const auto max_children = static_cast<std::size_t>(options.max_children);
    int failed_forks = 0;
    for (;;) {
        reap_children(children);
        wait_for_free_slot(children, max_children, wait_mask);
        if (g_stop_signal != 0)
            break;
        sockaddr_in cliaddr{};
        const int connfd = accept_client(listenfd, wait_mask, cliaddr);
        if (connfd < 0)
            continue;
        const pid_t pid = fork_child(listenfd, connfd, cliaddr);
        if (pid > 0) {
            add_child(children, pid);
            failed_forks = 0;
        } else {
            back_off(++failed_forks, wait_mask);
        }
    }

    // New clients are refused from here on, and those still queued in the
    // backlog are reset (a server that owes them an answer accepts them
    // first); those being served may finish.
    Close(listenfd);
    std::printf("%s: stopping; %zu children serving, %d s of grace\n", strsignal(g_stop_signal),
                children.running.size(), options.grace_seconds);
    finish_children(children, options.grace_seconds, wait_mask);
    print_summary(children);
    return 0;
    // END SOLUTION
}
