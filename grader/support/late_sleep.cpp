// late_sleep.cpp -- an LD_PRELOAD shim for the grader: every call that puts
// the process to sleep until a signal or an event starts a little late.
//
// A server that checks a condition ("fewer children than the cap?") and then
// sleeps until a signal has a window between the two: a SIGCHLD that arrives
// in it has already run its handler when the sleep begins, so the sleep waits
// for a signal that has come and gone -- the lost wakeup (TLPI 22.9).  The
// window is a few instructions wide, so a test that only sends traffic hits
// it by luck.  This shim widens it: each call below first waits
// FORKLAB_LATE_SLEEP_US microseconds (default 2000), then makes the real call.
//
// A correct program does not notice beyond the delay itself: it keeps SIGCHLD
// blocked from the check into the sleep (sigsuspend, ppoll and pselect with a
// mask), so a signal that arrives during the delay stays pending, and the
// sleep returns at once.  A program that unblocks first and then calls
// pause() loses nearly every wakeup.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <dlfcn.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

long late_microseconds()
{
    static const long configured = [] {
        const char *text = std::getenv("FORKLAB_LATE_SLEEP_US");
        const long value = text != nullptr ? std::strtol(text, nullptr, 10) : 2000;
        return value > 0 && value < 1000000 ? value : 2000;
    }();
    return configured;
}

// The delay, through the system call itself: the nanosleep() below is the
// shim's own.  A signal may cut it short; that is the point of it.
void arrive_late()
{
    const int saved_errno = errno;
    const timespec delay{0, late_microseconds() * 1000};
    syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &delay, nullptr);
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
