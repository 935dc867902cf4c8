// fakesys.cpp -- the --wrap'ed read/write/accept behind fakesys.h.
#include "fakesys.h"

#include <atomic>
#include <cerrno>
#include <unistd.h>

extern "C" {
ssize_t __real_read(int fd, void *buf, std::size_t count);
ssize_t __real_write(int fd, const void *buf, std::size_t count);
int __real_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);
}

namespace fakesys {
namespace {

constexpr int kCalls = 3;
constexpr int kAddrlenHistory = 16;

struct State {
    std::atomic<int> fd{-1};
    std::atomic<int> fail_left{0};
    std::atomic<int> fail_errno{0};
    std::atomic<bool> clobber_addrlen{false};
    std::atomic<std::size_t> max_bytes{0};
    std::atomic<int> calls{0};
    std::atomic<int> real_eintr{0};
};

State states[kCalls];
std::atomic<long> addrlen_seen[kAddrlenHistory];

State &state(Call call)
{
    return states[static_cast<int>(call)];
}

// Called on entry of every wrapped call.  Returns true when this call must
// fail with the injected errno.
bool inject_failure(State &s, int fd)
{
    if (fd != s.fd.load())
        return false;
    if (s.fail_left.load() > 0) {
        --s.fail_left;
        return true;
    }
    return false;
}

std::size_t limit(State &s, int fd, std::size_t count)
{
    const std::size_t max = s.max_bytes.load();
    if (fd == s.fd.load() && max > 0 && count > max)
        return max;
    return count;
}

void count_result(State &s, int fd, long result)
{
    if (fd == s.fd.load() && result < 0 && errno == EINTR)
        ++s.real_eintr;
}

} // namespace

void set(Call call, const Rule &rule)
{
    State &s = state(call);
    s.fd = -1; // disarm while the fields change
    s.fail_left = rule.fail_times;
    s.fail_errno = rule.fail_errno;
    s.clobber_addrlen = rule.clobber_addrlen;
    s.max_bytes = rule.max_bytes;
    s.calls = 0;
    s.real_eintr = 0;
    if (call == Call::accept) {
        for (auto &seen : addrlen_seen)
            seen = -1;
    }
    s.fd = rule.fd;
}

void reset()
{
    for (int i = 0; i < kCalls; ++i)
        set(static_cast<Call>(i), Rule{});
}

int calls(Call call)
{
    return state(call).calls.load();
}
int real_eintr(Call call)
{
    return state(call).real_eintr.load();
}

long accept_addrlen_seen(int n)
{
    if (n < 0 || n >= kAddrlenHistory)
        return -1;
    return addrlen_seen[n].load();
}

} // namespace fakesys

using fakesys::Call;

extern "C" ssize_t __wrap_read(int fd, void *buf, std::size_t count)
{
    auto &s = fakesys::state(Call::read);
    if (fd == s.fd.load())
        ++s.calls;
    if (fakesys::inject_failure(s, fd)) {
        errno = s.fail_errno.load();
        return -1;
    }
    const ssize_t n = __real_read(fd, buf, fakesys::limit(s, fd, count));
    fakesys::count_result(s, fd, n);
    return n;
}

extern "C" ssize_t __wrap_write(int fd, const void *buf, std::size_t count)
{
    auto &s = fakesys::state(Call::write);
    if (fd == s.fd.load())
        ++s.calls;
    if (fakesys::inject_failure(s, fd)) {
        errno = s.fail_errno.load();
        return -1;
    }
    const ssize_t n = __real_write(fd, buf, fakesys::limit(s, fd, count));
    fakesys::count_result(s, fd, n);
    return n;
}

extern "C" int __wrap_accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    auto &s = fakesys::state(Call::accept);
    if (fd == s.fd.load()) {
        const int n = s.calls++;
        if (n < fakesys::kAddrlenHistory)
            fakesys::addrlen_seen[n] = addrlen != nullptr ? long(*addrlen) : -1;
    }
    if (fakesys::inject_failure(s, fd)) {
        if (s.clobber_addrlen.load() && addrlen != nullptr)
            *addrlen = 1;
        errno = s.fail_errno.load();
        return -1;
    }
    const int connfd = __real_accept(fd, addr, addrlen);
    fakesys::count_result(s, fd, connfd);
    return connfd;
}
