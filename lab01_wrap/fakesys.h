// fakesys.h -- fault injection for the unit tests, at link time.
//
// The test binary is linked with -Wl,--wrap=read,--wrap=write,--wrap=accept,
// so every call to read(), write() or accept() from the kit's objects lands
// in __wrap_read() & co. (fakesys.cpp), which pass it on to the real call
// unless a rule says otherwise.  This makes the failures lab01 must survive
// happen on demand -- an EINTR, an ECONNABORTED, a read that returns 3 bytes
// of 1000 -- instead of hoping the kernel produces them.
//
// Rules apply to one descriptor only, so the test's own traffic on the other
// end of a socket is left alone.  Counters are lock-free atomics: a signal
// handler may call write() through here.
#pragma once

#include <cstddef>
#include <sys/socket.h>

namespace fakesys {

enum class Call { read, write, accept };

struct Rule {
    int fd = -1;                  // descriptor the rule applies to
    int fail_times = 0;           // fail this many calls first...
    int fail_errno = 0;           // ...with this errno,
    bool clobber_addrlen = false; // ...setting *addrlen to 1, as a non-Linux kernel may
    std::size_t max_bytes = 0;    // then move at most this many bytes per call (0: all)
};

// Install rule for call, replacing the previous one and zeroing its counters.
void set(Call call, const Rule &rule);

// Remove every rule and zero every counter.
void reset();

// Calls seen on the rule's descriptor, and how many of them came back with
// EINTR from the real system call (not injected).
int calls(Call call);
int real_eintr(Call call);

// The *addrlen that accept() was given on its n-th call (0-based) on the
// rule's descriptor, or -1 if there was no such call.
long accept_addrlen_seen(int n);

// Installs a rule for one scope.
class Scope {
  public:
    Scope(Call call, const Rule &rule) { set(call, rule); }
    ~Scope() { reset(); }
    Scope(const Scope &) = delete;
    Scope &operator=(const Scope &) = delete;
};

} // namespace fakesys
