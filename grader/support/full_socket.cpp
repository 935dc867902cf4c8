// full_socket.cpp -- an LD_PRELOAD shim for the grader: every non-blocking
// socket behaves as if it were nearly full.
//
// On loopback the kernel's socket buffers hold megabytes, so a server's
// write() to a client nearly always takes every byte, and the code that
// handles a partial write or EAGAIN -- the rest kept for the next POLLOUT --
// never runs in a test.  With this shim it runs at every write: of the
// calls of write, send, sendto or writev to a non-blocking socket, two in
// three fail with EAGAIN, and the third takes at most
// FORKLAB_FULL_SOCKET_BYTES bytes (default 7).  Blocking sockets, pipes
// and files are left alone: EAGAIN is only a non-blocking descriptor's
// answer (send(2)).
//
// A correct server does not notice beyond the extra turns of its loop: poll
// reports POLLOUT again at once, and the bytes go out in order.
#include <cerrno>
#include <cstdlib>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace {

template <typename Function>
Function real(const char *name)
{
    return reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
}

std::size_t most_bytes()
{
    static const std::size_t configured = [] {
        const char *text = std::getenv("FORKLAB_FULL_SOCKET_BYTES");
        const long value = text != nullptr ? std::strtol(text, nullptr, 10) : 7;
        return static_cast<std::size_t>(value > 0 ? value : 7);
    }();
    return configured;
}

bool is_nonblocking_socket(int fd)
{
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
        return false;
    const int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && (flags & O_NONBLOCK) != 0;
}

// Calls so far (a server without threads: no atomics needed, and none in a
// signal handler's write to a pipe, which is no socket).
unsigned long calls = 0;

// True when this call fails with EAGAIN; else *n is cut to most_bytes().
bool full_now(int fd, std::size_t *n)
{
    if (!is_nonblocking_socket(fd))
        return false;
    if (++calls % 3 != 0 && *n > 0) {
        errno = EAGAIN;
        return true;
    }
    if (*n > most_bytes())
        *n = most_bytes();
    return false;
}

} // namespace

extern "C" ssize_t write(int fd, const void *buf, std::size_t n)
{
    static const auto real_write = real<ssize_t (*)(int, const void *, std::size_t)>("write");
    if (full_now(fd, &n))
        return -1;
    return real_write(fd, buf, n);
}

extern "C" ssize_t send(int fd, const void *buf, std::size_t n, int flags)
{
    static const auto real_send = real<ssize_t (*)(int, const void *, std::size_t, int)>("send");
    if (full_now(fd, &n))
        return -1;
    return real_send(fd, buf, n, flags);
}

extern "C" ssize_t sendto(int fd, const void *buf, std::size_t n, int flags,
                          const struct sockaddr *to, socklen_t tolen)
{
    static const auto real_sendto =
        real<ssize_t (*)(int, const void *, std::size_t, int, const struct sockaddr *, socklen_t)>(
            "sendto");
    if (full_now(fd, &n))
        return -1;
    return real_sendto(fd, buf, n, flags, to, tolen);
}

extern "C" ssize_t writev(int fd, const struct iovec *iov, int count)
{
    static const auto real_writev = real<ssize_t (*)(int, const struct iovec *, int)>("writev");
    std::size_t n = count > 0 ? iov[0].iov_len : 0;
    if (full_now(fd, &n))
        return -1;
    if (count > 0 && is_nonblocking_socket(fd)) {
        const struct iovec first {
            iov[0].iov_base, n
        };
        return real_writev(fd, &first, 1);
    }
    return real_writev(fd, iov, count);
}
