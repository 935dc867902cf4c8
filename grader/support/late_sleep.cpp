// late_sleep.cpp -- an LD_PRELOAD shim for the grader: every call that puts
// the process to sleep until a signal or an event starts late: only once one
// of its children has exited.
//
// A server that checks a condition ("fewer children than the cap?") and then
// sleeps until a signal has a window between the two: a SIGCHLD that arrives
// in it has already run its handler when the sleep begins, so the sleep waits
// for a signal that has come and gone -- the lost wakeup (TLPI 22.9).  The
// window is a few instructions wide, so a test that only sends traffic hits
// it by luck, and less often the busier the machine.  This shim puts the
// child's exit inside the window every time: each call below first waits
// until a child of the process has exited (a zombie not yet reaped, or fewer
// children than when the call began), at most FORKLAB_LATE_SLEEP_US
// microseconds (default 50000), then makes the real call.
//
// FORKLAB_LATE_SLEEP_FIXED_US=N instead makes every such call start N
// microseconds late, child or no child, and says so on stderr as the delay
// begins: a signal the test sends then (a SIGTERM, say) arrives after the
// program's last check and before its sleep.
//
// A correct program does not notice beyond the delay itself: it keeps SIGCHLD
// blocked from the check into the sleep (sigsuspend, ppoll and pselect with a
// mask), so the signal stays pending, and the sleep returns at once.  A
// program that unblocks first and then calls pause() loses the wakeup.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

long late_microseconds()
{
    static const long configured = [] {
        const char *text = std::getenv("FORKLAB_LATE_SLEEP_US");
        const long value = text != nullptr ? std::strtol(text, nullptr, 10) : 50000;
        return value > 0 && value < 1000000 ? value : 50000;
    }();
    return configured;
}

// The process's children, zombies included (/proc/self/task/PID/children:
// the main thread's, which is every child of a program that has no threads).
int children_now()
{
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/task/%d/children", static_cast<int>(getpid()));
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char text[4096];
    const ssize_t n = read(fd, text, sizeof text);
    close(fd);
    int count = 0;
    for (ssize_t i = 0; i < n; ++i)
        count += text[i] == ' ';
    return count;
}

bool a_child_has_exited()
{
    siginfo_t info{};
    // WNOWAIT: look, without reaping -- the program's own waitpid reaps it.
    return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0;
}

long long now_microseconds()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000000LL + now.tv_nsec / 1000;
}

// The delay, through system calls only: the nanosleep() below is the
// shim's own.  A signal may cut a step short; the loop goes on.
long fixed_microseconds()
{
    static const long configured = [] {
        const char *text = std::getenv("FORKLAB_LATE_SLEEP_FIXED_US");
        const long value = text != nullptr ? std::strtol(text, nullptr, 10) : 0;
        return value > 0 && value < 10000000 ? value : 0;
    }();
    return configured;
}

void arrive_late()
{
    const int saved_errno = errno;
    if (fixed_microseconds() > 0) {
        // Said first, so that a test knows the program is on its way to
        // sleep, after its last check, and can send its signal now.
        static const char kLate[] = "[grader] late_sleep: a sleeping call starts late\n";
        syscall(SYS_write, 2, kLate, sizeof kLate - 1);
        const timespec delay{fixed_microseconds() / 1000000, fixed_microseconds() % 1000000 * 1000};
        syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &delay, nullptr);
        errno = saved_errno;
        return;
    }
    const int children_before = children_now();
    const long long deadline = now_microseconds() + late_microseconds();
    const timespec step{0, 100 * 1000};
    while (children_before > 0 && !a_child_has_exited() && children_now() >= children_before &&
           now_microseconds() < deadline)
        syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &step, nullptr);
    errno = saved_errno;
}

template <typename Function>
Function real(const char *name)
{
    const auto function = reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
    if (function == nullptr)
        std::abort(); // the C library always has these: a broken environment
    return function;
}

} // namespace

extern "C" {

int pause()
{
    static const auto real_pause = real<int (*)()>("pause");
    arrive_late();
    return real_pause();
}

int sigsuspend(const sigset_t *mask)
{
    static const auto real_sigsuspend = real<int (*)(const sigset_t *)>("sigsuspend");
    arrive_late();
    return real_sigsuspend(mask);
}

int poll(pollfd *fds, nfds_t nfds, int timeout)
{
    static const auto real_poll = real<int (*)(pollfd *, nfds_t, int)>("poll");
    arrive_late();
    return real_poll(fds, nfds, timeout);
}

int ppoll(pollfd *fds, nfds_t nfds, const timespec *timeout, const sigset_t *mask)
{
    static const auto real_ppoll =
        real<int (*)(pollfd *, nfds_t, const timespec *, const sigset_t *)>("ppoll");
    arrive_late();
    return real_ppoll(fds, nfds, timeout, mask);
}

int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, timeval *timeout)
{
    static const auto real_select =
        real<int (*)(int, fd_set *, fd_set *, fd_set *, timeval *)>("select");
    arrive_late();
    return real_select(nfds, readfds, writefds, exceptfds, timeout);
}

int pselect(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, const timespec *timeout,
            const sigset_t *mask)
{
    static const auto real_pselect =
        real<int (*)(int, fd_set *, fd_set *, fd_set *, const timespec *, const sigset_t *)>(
            "pselect");
    arrive_late();
    return real_pselect(nfds, readfds, writefds, exceptfds, timeout, mask);
}

int epoll_wait(int epfd, epoll_event *events, int maxevents, int timeout)
{
    static const auto real_epoll_wait = real<int (*)(int, epoll_event *, int, int)>("epoll_wait");
    arrive_late();
    return real_epoll_wait(epfd, events, maxevents, timeout);
}

int epoll_pwait(int epfd, epoll_event *events, int maxevents, int timeout, const sigset_t *mask)
{
    static const auto real_epoll_pwait =
        real<int (*)(int, epoll_event *, int, int, const sigset_t *)>("epoll_pwait");
    arrive_late();
    return real_epoll_pwait(epfd, events, maxevents, timeout, mask);
}

unsigned int sleep(unsigned int seconds)
{
    static const auto real_sleep = real<unsigned int (*)(unsigned int)>("sleep");
    arrive_late();
    return real_sleep(seconds);
}

int usleep(useconds_t microseconds)
{
    static const auto real_usleep = real<int (*)(useconds_t)>("usleep");
    arrive_late();
    return real_usleep(microseconds);
}

int nanosleep(const timespec *duration, timespec *remaining)
{
    static const auto real_nanosleep = real<int (*)(const timespec *, timespec *)>("nanosleep");
    arrive_late();
    return real_nanosleep(duration, remaining);
}

} // extern "C"
