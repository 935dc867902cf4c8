// test_server.cpp -- lab08's unit tests (doctest): `make test`.
//
// lab06's echo functions keep their cases (../lab02_single/echo_cases.h);
// the cases below are lab08's: the options, the worker's signals and its
// accept loop, reaping, the pool kept full, the wait for a change and the
// graceful stop.  The test binary is linked with -Wl,--wrap=fork and
// --wrap=waitpid: every fork() and waitpid() goes through __wrap_fork and
// __wrap_waitpid below, which make them fail on demand (a fork with EAGAIN,
// a waitpid with EINTR).  Every case that touches signals runs in a child
// (testing::run_in_child): its signal mask and handlers end with it.  One case:
//   build/g++/test_server --test-case='reap_workers*'
#include "server.h"

#include "../lab02_single/echo_cases.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <vector>

extern "C" pid_t __real_fork();
extern "C" pid_t __real_waitpid(pid_t pid, int *status, int options);

namespace {

// fork() calls still to fail with EAGAIN, and waitpid() calls still to fail
// with EINTR, before they work again.
std::atomic<int> g_forks_to_fail{0};
std::atomic<int> g_waitpids_interrupted{0};
std::atomic<int> g_forks_seen{0};

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
// orphan stays behind.
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

long milliseconds_since(Clock::time_point start)
{
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

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

// A listening socket on loopback, non-blocking as main makes it.
testing::Listener nonblocking_listener()
{
    const testing::Listener listener = testing::listen_on_loopback();
    fcntl(listener.fd, F_SETFL, fcntl(listener.fd, F_GETFL) | O_NONBLOCK);
    return listener;
}

// One client's exchange: connect, send data, read its reply up to its size,
// close.  The reply as it came.
std::string exchange(std::uint16_t port, const std::string &data)
{
    const int fd = testing::connect_to_loopback(port);
    testing::write_all(fd, data);
    const std::string reply = testing::read_up_to(fd, data.size(), std::chrono::seconds(5));
    close(fd);
    return reply;
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
    ++g_forks_seen;
    if (g_forks_to_fail.load() > 0) {
        --g_forks_to_fail;
        errno = EAGAIN;
        return -1;
    }
    return __real_fork();
}

extern "C" pid_t __wrap_waitpid(pid_t pid, int *status, int options)
{
    if (g_waitpids_interrupted.load() > 0) {
        --g_waitpids_interrupted;
        errno = EINTR;
        return -1;
    }
    return __real_waitpid(pid, status, options);
}

// ----------------------------------------------------------- options_from_args

TEST_CASE("options_from_args: the defaults without options")
{
    const auto r = testing::run_in_child([] {
        Args args({});
        const Options o = options_from_args(args.argc(), args.argv());
        std::printf("%u %d %d\n", unsigned{o.port}, o.workers, o.max_requests);
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == std::to_string(kDefaultPort) + " " + std::to_string(kDefaultWorkers) + " " +
                       std::to_string(kDefaultMaxRequests) + "\n");
}

TEST_CASE("options_from_args: -w, -m and a port")
{
    const std::vector<std::string> lines[] = {
        {"-w", "2", "-m", "3", "7000"}, {"-m", "0", "-w", "1"}, {"-w256", "-m1000000", "65535"}};
    const char *expected[] = {"7000 2 3\n", "6666 1 0\n", "65535 256 1000000\n"};
    for (std::size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        const auto r = testing::run_in_child([&] {
            Args args(lines[i]);
            const Options o = options_from_args(args.argc(), args.argv());
            std::printf("%u %d %d\n", unsigned{o.port}, o.workers, o.max_requests);
        });
        CHECK(r.exit_status == 0);
        CHECK(r.out == expected[i]);
    }
}

TEST_CASE("options_from_args: bad options print a usage message and exit 2")
{
    const std::vector<std::string> bad[] = {
        {"-w", "0"}, {"-w", "abc"}, {"-w", "257"},     {"-w", "-3"}, {"-w"},
        {"-m", "x"}, {"-m", "-1"},  {"-m", "1000001"}, {"-x"},       {"-w", "4", "80x"},
        {"1", "2"},  {"-w", "4x"},  {"-m", ""},        {"-n", "4"}};
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

// ------------------------------------------------------------------- signals

TEST_CASE("restore_signals_in_worker: SIGINT ignored, SIGCHLD default, SIGTERM still noted")
{
    const auto r = testing::run_in_child([] {
        install_signal_handlers();
        restore_signals_in_worker();
        struct sigaction sa {};
        sigaction(SIGINT, nullptr, &sa);
        std::printf("SIGINT %s", sa.sa_handler == SIG_IGN ? "ignored" : "not ignored");
        sigaction(SIGCHLD, nullptr, &sa);
        std::printf(", SIGCHLD %s", sa.sa_handler == SIG_DFL ? "default" : "not default");
        sigaction(SIGTERM, nullptr, &sa);
        sigset_t now;
        sigprocmask(SIG_BLOCK, nullptr, &now);
        std::printf(", SIGTERM %s and %s\n", sa.sa_handler == note_signal ? "noted" : "not noted",
                    sigismember(&now, SIGTERM) ? "blocked" : "not blocked");
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "SIGINT ignored, SIGCHLD default, SIGTERM noted and blocked\n");
}

// ------------------------------------------------------------------ the worker

TEST_CASE("accept_client: returns a waiting client, -1 when another took it or a signal came")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            const testing::Listener listener = nonblocking_listener();
            const int client = testing::connect_to_loopback(listener.port);
            sockaddr_in cliaddr{};
            const int connfd = accept_client(listener.fd, wait_mask, cliaddr);
            const bool same = connfd >= 0 && cliaddr.sin_port != 0 &&
                              cliaddr.sin_port == echo_cases::peer_of(connfd).sin_port;
            std::printf("accepted: %s, cliaddr filled in: %s\n", connfd >= 0 ? "yes" : "no",
                        same ? "yes" : "no");
            {
                // Woken for a client another worker took first: accept says
                // EAGAIN on the non-blocking socket.
                testing::connect_to_loopback(listener.port);
                fakesys::Scope taken(fakesys::Call::accept, {listener.fd, 1, EAGAIN});
                const int none = accept_client(listener.fd, wait_mask, cliaddr);
                std::printf("taken by another: %d\n", none);
            }
            const int waiting = accept_client(listener.fd, wait_mask, cliaddr);
            std::printf("then the one left: %s\n", waiting >= 0 ? "accepted" : "not accepted");
            const pid_t main_tid = testing::this_thread_id();
            std::thread stopper([&] {
                testing::wait_until([&] { return thread_state(main_tid) == 'S'; });
                kill(getpid(), SIGTERM);
            });
            const int stopped = accept_client(listener.fd, wait_mask, cliaddr);
            stopper.join();
            std::printf("with SIGTERM: %d, stop: %s\n", stopped,
                        g_stop_signal == SIGTERM ? "SIGTERM" : "none");
            close(client);
        },
        std::chrono::seconds(5));
    CHECK(r.exit_status == 0);
    CHECK(r.out == "accepted: yes, cliaddr filled in: yes\ntaken by another: -1\n"
                   "then the one left: accepted\nwith SIGTERM: -1, stop: SIGTERM\n");
}

TEST_CASE("run_worker: serves clients one at a time and returns after max_requests")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            const testing::Listener listener = nonblocking_listener();
            std::string replies;
            std::thread clients([&] {
                for (const char *data : {"one\n", "two\xe9\n", "three\n"})
                    replies += exchange(listener.port, data);
            });
            const unsigned long served = run_worker(listener.fd, 3, wait_mask);
            clients.join();
            std::printf("served %lu: %s", served, replies.c_str());
        },
        std::chrono::seconds(10));
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "served 3: ONE\nTWO\xe9\nTHREE\n"));
    CHECK(echo_cases::count_of(r.out, "the other side has been closed.") == 3);
}

TEST_CASE("run_worker: a SIGTERM while serving lets the client finish, then it returns")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            restore_signals_in_worker();
            const testing::Listener listener = nonblocking_listener();
            std::string reply;
            std::thread client([&] {
                const int fd = testing::connect_to_loopback(listener.port);
                testing::write_all(fd, "first ");
                reply = testing::read_up_to(fd, 6);
                // Mid-conversation: the stop comes now, and must wait.
                kill(getpid(), SIGTERM);
                testing::write_all(fd, "second");
                reply += testing::read_up_to(fd, 6);
                close(fd);
            });
            const unsigned long served = run_worker(listener.fd, 0, wait_mask);
            client.join();
            std::printf("served %lu, reply '%s', stop: %s\n", served, reply.c_str(),
                        g_stop_signal == SIGTERM ? "SIGTERM" : "none");
        },
        std::chrono::seconds(10));
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "served 1, reply 'FIRST SECOND', stop: SIGTERM\n"));
}

TEST_CASE("fork_worker: the worker serves max_requests clients, then exits 0")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            const testing::Listener listener = nonblocking_listener();
            const pid_t pid = fork_worker(listener.fd, 2, wait_mask);
            std::printf("a worker: %s, ", pid > 0 ? "yes" : "no");
            std::string replies = exchange(listener.port, "ab");
            replies += exchange(listener.port, "cd");
            int status = -1;
            __real_waitpid(pid, &status, 0);
            std::printf("replies %s, exit status %d\n", replies.c_str(),
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        },
        std::chrono::seconds(10));
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "a worker: yes, replies ABCD, exit status 0\n"));
}

TEST_CASE("fork_worker: a failed fork returns -1, and logs it")
{
    const auto r = testing::run_in_child([] {
        const sigset_t wait_mask = install_signal_handlers();
        const testing::Listener listener = nonblocking_listener();
        g_forks_to_fail = 1;
        const pid_t pid = fork_worker(listener.fd, 0, wait_mask);
        std::printf("returned %d, still running\n", pid);
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "returned -1, still running\n");
    CHECK(echo_cases::contains(r.err, std::strerror(EAGAIN)));
}

// ------------------------------------------------------------------ the parent

TEST_CASE("reap_workers: every ended worker at once, killed ones too, never blocking")
{
    const auto r = testing::run_in_child([] {
        Pool pool;
        std::vector<HeldChild> held(4);
        for (const auto &child : held)
            pool.workers.push_back(child.pid);
        reap_workers(pool); // none has ended: returns at once
        std::printf("none ended: %zu left\n", pool.workers.size());
        for (const std::size_t i : {0, 1, 3})
            held[i].release();
        testing::wait_until([&] {
            return has_exited(held[0].pid) && has_exited(held[1].pid) && has_exited(held[3].pid);
        });
        reap_workers(pool);
        const bool right_one = pool.workers.size() == 1 && pool.workers[0] == held[2].pid &&
                               is_gone(held[0].pid) && is_gone(held[3].pid);
        std::printf("3 killed at once: %zu left, the right one: %s\n", pool.workers.size(),
                    right_one ? "yes" : "no");
        held[2].release();
    });
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::count_of(r.out, "killed by") == 3);
    CHECK(echo_cases::contains(r.out, "none ended: 4 left\n"));
    CHECK(echo_cases::contains(r.out, "3 killed at once: 1 left, the right one: yes\n"));
}

TEST_CASE("reap_workers: a waitpid interrupted by a signal (EINTR) is asked again")
{
    const auto r = testing::run_in_child([] {
        Pool pool;
        std::vector<HeldChild> held(2);
        for (const auto &child : held) {
            pool.workers.push_back(child.pid);
            child.release();
        }
        testing::wait_until([&] { return has_exited(held[0].pid) && has_exited(held[1].pid); });
        g_waitpids_interrupted = 1;
        reap_workers(pool);
        std::printf("after one EINTR: %zu left\n", pool.workers.size());
    });
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "after one EINTR: 0 left\n"));
}

TEST_CASE("back_off_delay: 100 ms, doubled after each failure, at most 3200 ms")
{
    CHECK(back_off_delay(1).count() == kForkRetryMs);
    CHECK(back_off_delay(2).count() == 2 * kForkRetryMs);
    CHECK(back_off_delay(3).count() == 4 * kForkRetryMs);
    CHECK(back_off_delay(6).count() == kForkRetryMaxMs);
    CHECK(back_off_delay(40).count() == kForkRetryMaxMs);
}

TEST_CASE("fill_pool: forks up to the count, backs off after a failed fork, never exits")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            const testing::Listener listener = nonblocking_listener();
            Pool pool;
            const Options three{kDefaultPort, 3, 0};
            fill_pool(pool, three, listener.fd, wait_mask);
            std::printf("full: %zu workers, %lu started\n", pool.workers.size(), pool.started);
            kill(pool.workers[1], SIGKILL);
            testing::wait_until([&] { return has_exited(pool.workers[1]); });
            reap_workers(pool);
            g_forks_to_fail = 1;
            const int forks_before = g_forks_seen;
            fill_pool(pool, three, listener.fd, wait_mask);
            std::printf("fork failed: %zu workers, %d failure, back-off %s\n", pool.workers.size(),
                        pool.failed_forks, pool.next_fork_at > Clock::now() ? "set" : "not set");
            fill_pool(pool, three, listener.fd, wait_mask);
            std::printf("during the back-off: forks %s\n",
                        g_forks_seen == forks_before + 1 ? "none" : "again");
            testing::wait_until([&] { return Clock::now() >= pool.next_fork_at; });
            fill_pool(pool, three, listener.fd, wait_mask);
            std::printf("after it: %zu workers, %lu started, %d failures\n", pool.workers.size(),
                        pool.started, pool.failed_forks);
            for (const pid_t pid : pool.workers)
                kill(pid, SIGKILL);
        },
        std::chrono::seconds(10));
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "full: 3 workers, 3 started\n"));
    CHECK(echo_cases::contains(r.out, "fork failed: 2 workers, 1 failure, back-off set\n"));
    CHECK(echo_cases::contains(r.out, "during the back-off: forks none\n"));
    CHECK(echo_cases::contains(r.out, "after it: 3 workers, 4 started, 0 failures\n"));
}

// The lost wakeup, made to happen every time: the worker has ended and its
// SIGCHLD is pending before wait_for_change is called.  A wait that lets the
// signal in before it sleeps (unblock, then pause) sleeps for ever.
TEST_CASE("wait_for_change: no lost wakeup when a worker ends just before the wait")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            Pool pool;
            HeldChild held;
            pool.workers.push_back(held.pid);
            held.release();
            testing::wait_until([&] { return has_exited(held.pid); });
            wait_for_change(pool, 1, wait_mask);
            reap_workers(pool);
            std::printf("woken, %zu left\n", pool.workers.size());
        },
        std::chrono::seconds(3));
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "woken, 0 left\n"));
}

TEST_CASE("wait_for_change: sleeps while the pool is full, until a worker ends")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            Pool pool;
            HeldChild held;
            pool.workers.push_back(held.pid);
            const pid_t main_tid = testing::this_thread_id();
            std::thread watcher([&] {
                const bool asleep =
                    testing::wait_until([&] { return thread_state(main_tid) == 'S'; });
                std::this_thread::sleep_for(std::chrono::milliseconds(300));
                std::printf("asleep: %s, ", asleep && thread_state(main_tid) == 'S' ? "yes" : "no");
                held.release();
            });
            wait_for_change(pool, 1, wait_mask);
            watcher.join();
            reap_workers(pool);
            std::printf("woken, %zu left\n", pool.workers.size());
        },
        std::chrono::seconds(5));
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "asleep: yes, "));
    CHECK(echo_cases::contains(r.out, "woken, 0 left\n"));
}

TEST_CASE("wait_for_change: a short pool waits only until the back-off is over")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            Pool pool;
            pool.next_fork_at = Clock::now() + std::chrono::milliseconds(200);
            const auto start = Clock::now();
            wait_for_change(pool, 2, wait_mask);
            const long took = milliseconds_since(start);
            std::printf("waited %s\n", took >= 190 && took < 2000 ? "the back-off" : "wrong");
        },
        std::chrono::seconds(5));
    CHECK(r.exit_status == 0);
    CHECK(r.out == "waited the back-off\n");
}

TEST_CASE("wait_for_change: a stop signal ends the wait")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            Pool pool;
            HeldChild held;
            pool.workers.push_back(held.pid);
            kill(getpid(), SIGTERM); // pending until the wait lets it in
            wait_for_change(pool, 1, wait_mask);
            std::printf("returned, stop: %s\n", g_stop_signal == SIGTERM ? "SIGTERM" : "none");
            held.release();
        },
        std::chrono::seconds(3));
    CHECK(r.exit_status == 0);
    CHECK(r.out == "returned, stop: SIGTERM\n");
}

// -------------------------------------------------------------- graceful stop

TEST_CASE("stop_workers: idle workers stop at once, a busy one finishes its client")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            const testing::Listener listener = nonblocking_listener();
            Pool pool;
            const Options three{kDefaultPort, 3, 0};
            fill_pool(pool, three, listener.fd, wait_mask);
            const int fd = testing::connect_to_loopback(listener.port);
            testing::write_all(fd, "busy ");
            const std::string first = testing::read_up_to(fd, 5);
            std::thread client([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(300));
                testing::write_all(fd, "still served");
                const std::string rest = testing::read_up_to(fd, 12);
                std::printf("the busy client: '%s%s'\n", first.c_str(), rest.c_str());
                close(fd);
            });
            const auto start = Clock::now();
            stop_workers(pool, 5, wait_mask);
            const long took = milliseconds_since(start);
            client.join();
            std::printf("%zu left, %zu killed, within the grace: %s\n", pool.workers.size(),
                        pool.killed_after_grace, took < 4000 ? "yes" : "no");
        },
        std::chrono::seconds(10));
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "the busy client: 'BUSY STILL SERVED'\n"));
    CHECK(echo_cases::contains(r.out, "0 left, 0 killed, within the grace: yes\n"));
}

TEST_CASE("stop_workers: a worker still busy after the grace is killed and reaped")
{
    const auto r = testing::run_in_child(
        [] {
            const sigset_t wait_mask = install_signal_handlers();
            const testing::Listener listener = nonblocking_listener();
            Pool pool;
            const Options one{kDefaultPort, 1, 0};
            fill_pool(pool, one, listener.fd, wait_mask);
            const int fd = testing::connect_to_loopback(listener.port);
            testing::write_all(fd, "x");
            testing::read_up_to(fd, 1);
            const pid_t worker = pool.workers[0];
            const auto start = Clock::now();
            stop_workers(pool, 1, wait_mask);
            const long took = milliseconds_since(start);
            std::printf("%zu left, %zu killed, gone: %s, after the grace: %s\n",
                        pool.workers.size(), pool.killed_after_grace,
                        is_gone(worker) ? "yes" : "no", took >= 950 ? "yes" : "no");
            close(fd);
        },
        std::chrono::seconds(10));
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "0 left, 1 killed, gone: yes, after the grace: yes\n"));
}

TEST_CASE("print_summary: started N workers, K killed after the grace period")
{
    const auto r = testing::run_in_child([] {
        Pool pool;
        pool.started = 7;
        pool.killed_after_grace = 1;
        print_summary(pool);
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "started 7 workers, 1 killed after the grace period\n");
}
