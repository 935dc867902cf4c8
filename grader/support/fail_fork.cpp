// fail_fork.cpp -- an LD_PRELOAD shim for the grader: fork() fails on demand.
//
// The grader builds it (g++ -shared -fPIC) into a test's scratch folder and
// starts the server under test with LD_PRELOAD pointing at it, so that fork()
// fails without root and without starving the machine of processes:
//
//   FORKLAB_FAIL_FORK=2,5   the 2nd and the 5th call of fork() in the process
//                           fail with EAGAIN; every other call is the real one.
//   FORKLAB_FORK_TIMES=1    every call is logged on stderr with its time
//                           (CLOCK_MONOTONIC, seconds), failed or not, so
//                           that a test can measure the pause between them.
//
// Calls are counted per process.  The server's children inherit the count,
// but they do not fork.
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <string>
#include <unistd.h>

namespace {

std::atomic<int> fork_calls{0};

// True if call number n is listed in FORKLAB_FAIL_FORK.
bool should_fail(int n)
{
    const char *list = std::getenv("FORKLAB_FAIL_FORK");
    if (list == nullptr)
        return false;
    const std::string wanted = std::to_string(n);
    std::string item;
    for (const char *p = list;; ++p) {
        if (*p == ',' || *p == '\0') {
            if (item == wanted)
                return true;
            item.clear();
            if (*p == '\0')
                return false;
        } else {
            item += *p;
        }
    }
}

double now_seconds()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

} // namespace

extern "C" pid_t fork()
{
    const int n = ++fork_calls;
    const bool timed = std::getenv("FORKLAB_FORK_TIMES") != nullptr;
    if (should_fail(n)) {
        if (timed)
            std::fprintf(stderr, "[grader] fork() call %d fails with EAGAIN at %.6f\n", n,
                         now_seconds());
        else
            std::fprintf(stderr, "[grader] fork() call %d fails with EAGAIN (FORKLAB_FAIL_FORK)\n",
                         n);
        errno = EAGAIN;
        return -1;
    }
    if (timed)
        std::fprintf(stderr, "[grader] fork() call %d at %.6f\n", n, now_seconds());
    using ForkFunction = pid_t (*)();
    static const auto real_fork = reinterpret_cast<ForkFunction>(dlsym(RTLD_NEXT, "fork"));
    if (real_fork == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    return real_fork();
}
