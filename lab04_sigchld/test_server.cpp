// test_server.cpp -- lab04's unit tests (doctest): `make test`.
//
// lab02's functions keep their cases (../lab02_single/echo_cases.h) and
// lab03's fork_child its own (../lab03_fork/fork_cases.h); the cases below
// are lab04's: the SIGCHLD handler, and fork_child when fork() fails.  The
// test binary is linked with -Wl,--wrap=fork, so every fork() goes through
// __wrap_fork below, which fails it on demand.  One case:
//   build/g++/test_server --test-case='reap_children*'
#include "server.h"

#include "../lab02_single/echo_cases.h"
#include "../lab03_fork/fork_cases.h"

#include <atomic>
#include <csignal>
#include <poll.h>
#include <sys/wait.h>
#include <vector>

extern "C" pid_t __real_fork();

namespace {

// fork() calls still to fail with EAGAIN before fork() works again.
std::atomic<int> g_forks_to_fail{0};

// True once pid has exited but has not been reaped (a zombie).
bool has_exited(pid_t pid)
{
    siginfo_t info{};
    return waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid;
}

// True once pid is gone altogether: exited and reaped.
bool is_gone(pid_t pid)
{
    return kill(pid, 0) < 0 && errno == ESRCH;
}

// Fork n children that exit at once, and wait until all of them are zombies.
std::vector<pid_t> exited_children(int n)
{
    std::vector<pid_t> pids;
    for (int i = 0; i < n; ++i) {
        const pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        pids.push_back(pid);
    }
    for (const pid_t pid : pids)
        testing::wait_until([pid] { return has_exited(pid); });
    return pids;
}

} // namespace

extern "C" pid_t __wrap_fork()
{
    if (g_forks_to_fail.load() > 0) {
        --g_forks_to_fail;
        errno = EAGAIN;
        return -1;
    }
    return __real_fork();
}

TEST_CASE("reap_children: reaps every child that has exited and keeps errno")
{
    const auto r = testing::run_in_child([] {
        exited_children(5);
        errno = EDOM;
        reap_children(SIGCHLD);
        std::printf("errno kept: %s\n", errno == EDOM ? "yes" : "no");
        const bool none_left = waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD;
        std::printf("none left: %s\n", none_left ? "yes" : "no");
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "errno kept: yes\nnone left: yes\n");
}

TEST_CASE("reap_children: returns at once while other children still run")
{
    const auto r = testing::run_in_child(
        [] {
            // busy lives until the write end of the lifeline closes: when this
            // process closes it, or dies because reap_children hung and
            // run_in_child killed it.  Either way, no orphan stays behind.
            int lifeline[2];
            if (pipe(lifeline) < 0)
                _exit(1);
            const pid_t busy = fork();
            if (busy == 0) {
                close(lifeline[1]);
                char byte;
                while (read(lifeline[0], &byte, 1) < 0 && errno == EINTR) {
                }
                _exit(0);
            }
            close(lifeline[0]);
            const pid_t done = exited_children(1).front();
            reap_children(SIGCHLD);
            std::printf("returned; exited child reaped: %s\n", is_gone(done) ? "yes" : "no");
            close(lifeline[1]);
            waitpid(busy, nullptr, 0);
        },
        std::chrono::seconds(5));
    CHECK(r.exit_status == 0);
    CHECK(r.out == "returned; exited child reaped: yes\n");
}

TEST_CASE("install_sigchld_handler: reap_children on SIGCHLD, with SA_RESTART")
{
    const auto r = testing::run_in_child([] {
        install_sigchld_handler();
        struct sigaction sa {};
        sigaction(SIGCHLD, nullptr, &sa);
        std::printf("handler: %s, SA_RESTART: %s\n",
                    sa.sa_handler == reap_children ? "reap_children" : "other",
                    (sa.sa_flags & SA_RESTART) != 0 ? "yes" : "no");
        const pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        std::printf("child reaped: %s\n",
                    testing::wait_until([pid] { return is_gone(pid); }) ? "yes" : "no");
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "handler: reap_children, SA_RESTART: yes\nchild reaped: yes\n");
}

TEST_CASE("fork_child: a failed fork drops that client and returns -1")
{
    const auto r = testing::run_in_child([] {
        fork_cases::Accepted a;
        g_forks_to_fail = 1;
        const pid_t pid = fork_child(a.listener.fd, a.connfd, a.cliaddr);
        std::printf("returned %d, connfd %s, listenfd %s\n", pid,
                    fork_cases::is_open(a.connfd) ? "open" : "closed",
                    fork_cases::is_open(a.listener.fd) ? "open" : "closed");
        std::printf("client sees end of file: %s\n", testing::reaches_eof(a.client) ? "yes" : "no");
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "returned -1, connfd closed, listenfd open\nclient sees end of file: yes\n");
    CHECK(echo_cases::contains(r.err, "fork"));
    CHECK(echo_cases::contains(r.err, std::strerror(EAGAIN)));
}

// Closing a socket whose receive buffer still holds data sends a reset, not
// an end of file (RFC 1122 4.2.2.13): a client whose line was never read
// sees ECONNRESET.
TEST_CASE("fork_child: a failed fork resets a client whose bytes were unread (ECONNRESET)")
{
    const auto r = testing::run_in_child([] {
        fork_cases::Accepted a;
        if (!testing::write_all(a.client, "hello\n"))
            return;
        pollfd arrived{a.connfd, POLLIN, 0};
        if (poll(&arrived, 1, 5000) != 1)
            return;
        g_forks_to_fail = 1;
        fork_child(a.listener.fd, a.connfd, a.cliaddr);
        pollfd answer{a.client, POLLIN, 0};
        (void)poll(&answer, 1, 5000);
        char byte;
        const ssize_t n = read(a.client, &byte, 1);
        std::printf("read %s\n", n < 0 ? std::strerror(errno) : n == 0 ? "end of file" : "data");
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == std::string("read ") + std::strerror(ECONNRESET) + "\n");
}
