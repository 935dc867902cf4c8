// test_server.cpp -- lab06's unit tests (doctest): `make test`.
//
// lab04's functions keep their cases (../lab02_single/echo_cases.h and
// ../lab03_fork/fork_cases.h); the cases below are lab06's: the options, the
// count of children, the signals, the race-free wait at the cap, the back-off
// after a failed fork and the graceful stop.  The test binary is linked with
// -Wl,--wrap=fork, so every fork() goes through __wrap_fork below, which
// fails it on demand.  Every case that touches signals runs in a child
// (testing::run_in_child): its signal mask and handlers end with it.  One case:
//   build/g++/test_server --test-case='wait_for_free_slot*'
#include "server.h"

#include "../lab02_single/echo_cases.h"
#include "../lab03_fork/fork_cases.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

extern "C" pid_t __real_fork();

namespace {

using Clock = std::chrono::steady_clock;

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

// A child that lives until release(), or until the test process dies: no
// orphan stays behind.  (A pipe's end of file would not do: every later
// child inherits the write end of the pipes made before it.)
struct HeldChild {
    pid_t pid = -1;

    HeldChild()
    {
        const pid_t parent = getpid();
        pid = __real_fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(0);
            for (;;)
                pause();
        }
    }
    void release() const { kill(pid, SIGKILL); }
};

// The scheduler state of thread tid of this process ('S' sleeping, 'R'...).
char thread_state(pid_t tid)
{
    std::ifstream file("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const auto close_paren = stat.rfind(')');
    return close_paren == std::string::npos || close_paren + 2 >= stat.size()
               ? '?'
               : stat[close_paren + 2];
}

// CPU time thread has used so far.
std::chrono::nanoseconds cpu_time_of(pthread_t thread)
{
    clockid_t clock;
    timespec ts{};
    if (pthread_getcpuclockid(thread, &clock) != 0 || clock_gettime(clock, &ts) != 0)
        return std::chrono::nanoseconds::max();
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

long milliseconds_since(Clock::time_point start)
{
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

// argv for a command line given as words (argv[0] is "server").
struct Args {
    explicit Args(std::vector<std::string> words) : words_(std::move(words))
    {
        words_.insert(words_.begin(), "server");
        for (auto &word : words_)
            argv_.push_back(word.data());
        argv_.push_back(nullptr);
    }
    int argc() const { return static_cast<int>(words_.size()); }
    char **argv() { return argv_.data(); }

  private:
    std::vector<std::string> words_;
    std::vector<char *> argv_;
};

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

// ----------------------------------------------------------- options_from_args

TEST_CASE("options_from_args: the defaults without options")
{
    const auto r = testing::run_in_child([] {
        Args args({});
        const Options o = options_from_args(args.argc(), args.argv());
        std::printf("%u %d %d\n", unsigned{o.port}, o.max_children, o.grace_seconds);
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == std::to_string(kDefaultPort) + " " + std::to_string(kDefaultMaxChildren) + " " +
                       std::to_string(kDefaultGraceSeconds) + "\n");
}

TEST_CASE("options_from_args: -n, -g and a port")
{
    const std::vector<std::string> lines[] = {
        {"-n", "4", "-g", "2", "7000"}, {"-g", "0", "-n", "1"}, {"-n4096", "-g3600", "65535"}};
    const char *expected[] = {"7000 4 2\n", "6666 1 0\n", "65535 4096 3600\n"};
    for (std::size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        const auto r = testing::run_in_child([&] {
            Args args(lines[i]);
            const Options o = options_from_args(args.argc(), args.argv());
            std::printf("%u %d %d\n", unsigned{o.port}, o.max_children, o.grace_seconds);
        });
        CHECK(r.exit_status == 0);
        CHECK(r.out == expected[i]);
    }
}

TEST_CASE("options_from_args: bad options print a usage message and exit 2")
{
    const std::vector<std::string> bad[] = {
        {"-n", "0"}, {"-n", "abc"}, {"-n", "4097"}, {"-n", "-3"},   {"-n"},
        {"-g", "x"}, {"-g", "-1"},  {"-g", "3601"}, {"-x"},         {"-n", "4", "80x"},
        {"1", "2"},  {"-n", "4x"},  {"-g", ""},     {"-n", "", "7"}};
    for (const auto &words : bad) {
        std::string shown;
        for (const auto &word : words)
            shown += " '" + word + "'";
        CAPTURE(shown);
        const auto r = testing::run_in_child([&] {
            Args args(words);
            options_from_args(args.argc(), args.argv());
        });
        CHECK(r.exit_status == kUsageStatus);
        CHECK(echo_cases::contains(echo_cases::lowercase(r.err), "usage")); // in any case
    }
}

// ------------------------------------------------------------------ the count

TEST_CASE("add_child, reap_children: the count follows forks and exits, never blocking")
{
    const auto r = testing::run_in_child([] {
        Children children;
        std::vector<HeldChild> held(3);
        for (const auto &child : held)
            add_child(children, child.pid);
        std::printf("running %zu, served %lu, at most %zu\n", children.running.size(),
                    children.served, children.most_at_once);
        reap_children(children); // nobody has exited: returns at once
        std::printf("after reaping none: running %zu\n", children.running.size());
        held[1].release();
        testing::wait_until([&] { return has_exited(held[1].pid); });
        reap_children(children);
        const bool right_one = children.running.size() == 2 && children.running[0] == held[0].pid &&
                               children.running[1] == held[2].pid && is_gone(held[1].pid);
        std::printf("after one exit: running %zu, the right one reaped: %s\n",
                    children.running.size(), right_one ? "yes" : "no");
        add_child(children, HeldChild().pid);
        held[0].release();
        held[2].release();
        testing::wait_until([&] { return has_exited(held[0].pid) && has_exited(held[2].pid); });
        reap_children(children);
        std::printf("running %zu, served %lu, at most %zu\n", children.running.size(),
                    children.served, children.most_at_once);
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "running 3, served 3, at most 3\n"
                   "after reaping none: running 3\n"
                   "after one exit: running 2, the right one reaped: yes\n"
                   "running 1, served 4, at most 3\n");
}

// ------------------------------------------------------------------- signals

TEST_CASE("note_signal: SIGTERM and SIGINT set g_stop_signal, SIGCHLD does not; errno kept")
{
    const auto r = testing::run_in_child([] {
        errno = EDOM;
        note_signal(SIGCHLD);
        std::printf("after SIGCHLD: %d, errno kept: %s\n", int{g_stop_signal},
                    errno == EDOM ? "yes" : "no");
        note_signal(SIGINT);
        std::printf("after SIGINT: %s\n", g_stop_signal == SIGINT ? "SIGINT" : "other");
        note_signal(SIGTERM);
        std::printf("after SIGTERM: %s, errno kept: %s\n",
                    g_stop_signal == SIGTERM ? "SIGTERM" : "other", errno == EDOM ? "yes" : "no");
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "after SIGCHLD: 0, errno kept: yes\nafter SIGINT: SIGINT\n"
                   "after SIGTERM: SIGTERM, errno kept: yes\n");
}

TEST_CASE("install_signal_handlers: blocks the three signals, returns a mask that lets them in")
{
    const auto r = testing::run_in_child([] {
        // Whoever started the server may have blocked SIGCHLD: the wait mask
        // must let it in all the same.
        sigset_t start;
        sigemptyset(&start);
        sigaddset(&start, SIGCHLD);
        sigaddset(&start, SIGUSR1);
        sigprocmask(SIG_SETMASK, &start, nullptr);
        const sigset_t wait_mask = install_signal_handlers();
        sigset_t now;
        sigprocmask(SIG_BLOCK, nullptr, &now);
        for (const int signo : {SIGCHLD, SIGTERM, SIGINT}) {
            struct sigaction sa {};
            sigaction(signo, nullptr, &sa);
            std::printf("%s: handler %s, blocked %s, in the wait mask %s\n", strsignal(signo),
                        sa.sa_handler == note_signal ? "note_signal" : "other",
                        sigismember(&now, signo) ? "yes" : "no",
                        sigismember(&wait_mask, signo) ? "blocked" : "let in");
        }
        std::printf("SIGUSR1 left as it was: %s\n",
                    sigismember(&wait_mask, SIGUSR1) ? "yes" : "no");
        // Blocked: a SIGTERM stays pending and runs no handler yet.
        kill(getpid(), SIGTERM);
        std::printf("before the wait: %d\n", int{g_stop_signal});
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out ==
          std::string(strsignal(SIGCHLD)) +
              ": handler note_signal, blocked yes, in the wait mask let in\n" + strsignal(SIGTERM) +
              ": handler note_signal, blocked yes, in the wait mask let in\n" + strsignal(SIGINT) +
              ": handler note_signal, blocked yes, in the wait mask let in\n"
              "SIGUSR1 left as it was: yes\nbefore the wait: 0\n");
}

TEST_CASE("restore_signals_in_child: SIGTERM ends the child, even one sent before; SIGINT does not")
{
    const auto r = testing::run_in_child([] {
        install_signal_handlers();
        for (const int signo : {SIGINT, SIGTERM}) {
            int ready[2];
            if (pipe(ready) < 0)
                return;
            const pid_t pid = __real_fork();
            if (pid == 0) {
                // The signal arrives while it is still blocked, as when the
                // parent's SIGTERM comes between fork() and this call.
                kill(getpid(), signo);
                restore_signals_in_child();
                close(ready[0]);
                (void)!write(ready[1], "r", 1);
                pause();
                _exit(0);
            }
            close(ready[1]);
            pollfd pfd{ready[0], POLLIN, 0};
            (void)poll(&pfd, 1, 5000);
            close(ready[0]);
            if (signo == SIGINT) {
                // Alive after its SIGINT: end it with SIGTERM, now unblocked.
                const bool alive = !has_exited(pid);
                std::printf("after SIGINT: %s\n", alive ? "alive" : "ended");
                kill(pid, SIGTERM);
            }
            int status = 0;
            waitpid(pid, &status, 0);
            std::printf("ended by SIGTERM: %s\n",
                        WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM ? "yes" : "no");
        }
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "after SIGINT: alive\nended by SIGTERM: yes\nended by SIGTERM: yes\n");
}

// ------------------------------------------------------------- the wait at the cap

TEST_CASE("wait_for_free_slot: returns at once below the cap")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            Children children;
            HeldChild held;
            add_child(children, held.pid);
            wait_for_free_slot(children, 2, wait_mask);
            std::printf("returned, running %zu\n", children.running.size());
            held.release();
        },
        std::chrono::seconds(5));
    CHECK(r.exit_status == 0);
    CHECK(r.out == "returned, running 1\n");
}

TEST_CASE("wait_for_free_slot: sleeps at the cap, using no CPU, until a child exits")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            Children children;
            std::vector<HeldChild> held(2);
            for (const auto &child : held)
                add_child(children, child.pid);
            const pid_t main_tid = testing::this_thread_id();
            const pthread_t main_thread = pthread_self();
            // The watcher was created with the three signals blocked, so they
            // are delivered to the waiting thread.
            std::thread watcher([&] {
                const bool asleep =
                    testing::wait_until([&] { return thread_state(main_tid) == 'S'; });
                const auto before = cpu_time_of(main_thread);
                std::this_thread::sleep_for(std::chrono::milliseconds(500));
                const auto used = cpu_time_of(main_thread) - before;
                std::printf("asleep: %s, CPU over 500 ms: %s\n", asleep ? "yes" : "no",
                            used < std::chrono::milliseconds(50) ? "under 50 ms" : "more");
                held[0].release();
            });
            wait_for_free_slot(children, 2, wait_mask);
            watcher.join();
            std::printf("returned, running %zu, the other child still there: %s\n",
                        children.running.size(), !is_gone(held[1].pid) ? "yes" : "no");
            held[1].release();
        },
        std::chrono::seconds(10));
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "asleep: yes, CPU over 500 ms: under 50 ms\n"
                                      "returned, running 1, the other child still there: yes\n"));
}

// The lost wakeup, made to happen every time: the child has exited and its
// SIGCHLD is pending before wait_for_free_slot looks at the count.  Checking
// the count and then unblocking + pause() lets the handler run before
// pause() sleeps -- and sleeps for ever (this case's child is then killed
// at its deadline).
TEST_CASE("wait_for_free_slot: no lost wakeup when the child exits just before the wait")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            Children children;
            HeldChild held;
            add_child(children, held.pid);
            held.release();
            testing::wait_until([&] { return has_exited(held.pid); });
            sigset_t pending;
            sigpending(&pending);
            std::printf("SIGCHLD pending: %s\n", sigismember(&pending, SIGCHLD) ? "yes" : "no");
            wait_for_free_slot(children, 1, wait_mask);
            std::printf("returned, running %zu\n", children.running.size());
        },
        std::chrono::seconds(3));
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "SIGCHLD pending: yes\n"));
    CHECK(echo_cases::contains(r.out, "returned, running 0\n"));
}

TEST_CASE("wait_for_free_slot: a stop signal ends the wait at the cap")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            Children children;
            HeldChild held;
            add_child(children, held.pid);
            kill(getpid(), SIGTERM); // pending until the wait lets it in
            wait_for_free_slot(children, 1, wait_mask);
            std::printf("returned, stop: %s, running %zu\n",
                        g_stop_signal == SIGTERM ? "SIGTERM" : "none", children.running.size());
            held.release();
        },
        std::chrono::seconds(3));
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "returned, stop: SIGTERM, running 1\n"));
}

// ------------------------------------------------------------- accept_client

TEST_CASE("accept_client: returns a waiting client, and -1 when a signal ends the wait")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            const testing::Listener listener = testing::listen_on_loopback();
            const int client = testing::connect_to_loopback(listener.port);
            sockaddr_in cliaddr{};
            const int connfd = accept_client(listener.fd, wait_mask, cliaddr);
            const bool same = connfd >= 0 && cliaddr.sin_port != 0 &&
                              cliaddr.sin_port == echo_cases::peer_of(connfd).sin_port &&
                              echo_cases::peer_of(client).sin_port == htons(listener.port);
            std::printf("accepted: %s, cliaddr filled in: %s\n", connfd >= 0 ? "yes" : "no",
                        same ? "yes" : "no");
            const pid_t main_tid = testing::this_thread_id();
            std::thread stopper([&] {
                testing::wait_until([&] { return thread_state(main_tid) == 'S'; });
                kill(getpid(), SIGTERM);
            });
            const int none = accept_client(listener.fd, wait_mask, cliaddr);
            stopper.join();
            std::printf("then: %d, stop: %s\n", none,
                        g_stop_signal == SIGTERM ? "SIGTERM" : "none");
        },
        std::chrono::seconds(5));
    CHECK(r.exit_status == 0);
    CHECK(r.out == "accepted: yes, cliaddr filled in: yes\nthen: -1, stop: SIGTERM\n");
}

// ------------------------------------------------------------ fork failure

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
    CHECK(echo_cases::contains(r.err, std::strerror(EAGAIN)));
}

TEST_CASE("back_off: longer after each failed fork, and a stop signal ends it at once")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            auto start = Clock::now();
            back_off(1, wait_mask);
            const long first = milliseconds_since(start);
            start = Clock::now();
            back_off(3, wait_mask);
            const long third = milliseconds_since(start);
            std::printf("1st: %s, 3rd: %s\n", first >= kForkRetryMs - 5 ? "waited" : "too short",
                        third >= 4 * kForkRetryMs - 5 && third > first ? "longer" : "not longer");
            kill(getpid(), SIGTERM);
            start = Clock::now();
            back_off(20, wait_mask);
            std::printf("with SIGTERM: %s\n",
                        milliseconds_since(start) < kForkRetryMaxMs / 2 ? "at once" : "waited");
        },
        std::chrono::seconds(10));
    CHECK(r.exit_status == 0);
    CHECK(r.out == "1st: waited, 3rd: longer\nwith SIGTERM: at once\n");
}

// -------------------------------------------------------------- graceful stop

TEST_CASE("finish_children: waits for the children within the grace, then SIGTERMs the rest")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            Children children;
            HeldChild quick;
            const pid_t stuck = __real_fork();
            if (stuck == 0) {
                restore_signals_in_child();
                for (;;)
                    pause();
            }
            add_child(children, quick.pid);
            add_child(children, stuck);
            std::thread releaser([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                quick.release();
            });
            const auto start = Clock::now();
            finish_children(children, 1, wait_mask);
            const long took = milliseconds_since(start);
            releaser.join();
            std::printf("running %zu, stopped after the grace %zu, both gone: %s, "
                        "the grace was kept: %s\n",
                        children.running.size(), children.stopped_after_grace,
                        is_gone(quick.pid) && is_gone(stuck) ? "yes" : "no",
                        took >= 950 ? "yes" : "no");
        },
        std::chrono::seconds(10));
    CHECK(r.exit_status == 0);
    CHECK(r.out ==
          "running 0, stopped after the grace 1, both gone: yes, the grace was kept: yes\n");
}

TEST_CASE("finish_children: returns at once when every child is done")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            Children children;
            HeldChild done;
            add_child(children, done.pid);
            done.release();
            const auto start = Clock::now();
            finish_children(children, 30, wait_mask);
            std::printf("running %zu, stopped %zu, %s\n", children.running.size(),
                        children.stopped_after_grace,
                        milliseconds_since(start) < 5000 ? "at once" : "after the grace");
        },
        std::chrono::seconds(10));
    CHECK(r.exit_status == 0);
    CHECK(r.out == "running 0, stopped 0, at once\n");
}

TEST_CASE("print_summary: served N clients, at most M children at once, K stopped")
{
    const auto r = testing::run_in_child([] {
        Children children;
        children.served = 50;
        children.most_at_once = 4;
        children.stopped_after_grace = 1;
        print_summary(children);
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out ==
          "served 50 clients, at most 4 children at once, 1 stopped after the grace period\n");
}
