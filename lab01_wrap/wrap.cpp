// wrap.cpp -- lab01: the error-checked wrappers declared in wrap.h.
//
// Student file.  Read wrap.h first: it states what each wrapper returns and
// which failures it retries.  The order in lab01_wrap/README.md (perr_exit,
// the set-up calls, Read/Write, Accept, Readn/Writen, Readline) lets the unit
// tests go green one group at a time.
#include "wrap.h"
#include "todo.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netdb.h>
#include <unistd.h>

// BEGIN SOLUTION stub: // Helper functions of your own go here, in an anonymous namespace.
namespace {

// Write "ADDR:PORT" of a socket address into text (size bytes), for messages.
void address_text(const struct sockaddr *sa, socklen_t salen, char *text, std::size_t size)
{
    char host[NI_MAXHOST];
    char port[NI_MAXSERV];
    if (getnameinfo(sa, salen, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        std::snprintf(text, size, "(unprintable address)");
        return;
    }
    std::snprintf(text, size, "%s:%s", host, port);
}

// perr_exit("CALL to ADDR:PORT") for the failure of a call that was given an
// address, so the message says where the program tried to go.  The message
// is built on the stack: no allocation on the way out.
[[noreturn]] void perr_exit_at(const char *call, const struct sockaddr *sa, socklen_t salen)
{
    const int saved_errno = errno; // getnameinfo() may change errno
    char address[NI_MAXHOST + NI_MAXSERV + 1];
    address_text(sa, salen, address, sizeof address);
    char what[sizeof address + 64];
    std::snprintf(what, sizeof what, "%s to %s", call, address);
    errno = saved_errno;
    perr_exit(what);
}

// Linux hands an error pending on the new connection back through accept()
// (accept(2), "Error handling"): the network failed that one connection
// before we took it, or a firewall rule refused it (EPERM).  The listening
// socket is fine, and accept(2) says to retry as after EAGAIN.
bool new_connection_failed(int err)
{
    switch (err) {
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENONET:
    case ENOPROTOOPT:
    case EOPNOTSUPP:
    case EPERM:
        return true;
    default:
        return false;
    }
}

// accept() failures that concern one connection only, not the listening
// socket: a signal handler ran (EINTR), the connection was aborted before we
// took it (ECONNABORTED, EPROTO), or Linux passed on its network error.
bool accept_should_retry(int err)
{
    if (new_connection_failed(err))
        return true;
    return err == EINTR || err == ECONNABORTED || err == EPROTO;
}

} // namespace
// END SOLUTION

void perr_exit(const char *what)
{
    // BEGIN SOLUTION stub: not_implemented("lab01: perr_exit", what);
    std::fprintf(stderr, "%s: %s\n", what, std::strerror(errno));
    std::exit(1);
    // END SOLUTION
}

int Socket(int family, int type, int protocol)
{
    // BEGIN SOLUTION stub: not_implemented("lab01: Socket", family, type, protocol);
    const int fd = socket(family, type, protocol);
    if (fd < 0)
        perr_exit("socket");
    return fd;
    // END SOLUTION
}

void Bind(int fd, const struct sockaddr *sa, socklen_t salen)
{
    // BEGIN SOLUTION stub: not_implemented("lab01: Bind", fd, sa, salen);
    if (bind(fd, sa, salen) < 0)
        perr_exit_at("bind", sa, salen);
    // END SOLUTION
}

void Listen(int fd, int backlog)
{
    // BEGIN SOLUTION stub: not_implemented("lab01: Listen", fd, backlog);
    if (listen(fd, backlog) < 0)
        perr_exit("listen");
    // END SOLUTION
}

void Connect(int fd, const struct sockaddr *sa, socklen_t salen)
{
    // BEGIN SOLUTION stub: not_implemented("lab01: Connect", fd, sa, salen);
    // No retry after EINTR: an interrupted connect() goes on in the
    // background (connect(2)).  Calling it again on this blocking socket
    // would wait for that attempt or fail with EISCONN once it succeeded;
    // EALREADY is what a non-blocking socket gets.  Dying is simpler.
    if (connect(fd, sa, salen) < 0)
        perr_exit_at("connect", sa, salen);
    // END SOLUTION
}

void Close(int fd)
{
    // BEGIN SOLUTION stub: not_implemented("lab01: Close", fd);
    // Never retry close() on Linux: it releases the descriptor even when
    // close() reports EINTR (close(2)), so a second close() could hit a
    // descriptor that another part of the program has opened since.
    // (POSIX.1-2024 lets EINTR leave it open instead; Linux does not.)
    if (close(fd) < 0)
        perr_exit("close");
    // END SOLUTION
}

int Accept(int fd, struct sockaddr *sa, socklen_t *salenptr)
{
    // BEGIN SOLUTION stub: not_implemented("lab01: Accept", fd, sa, salenptr);
    const socklen_t salen_on_entry = salenptr != nullptr ? *salenptr : 0;
    for (;;) {
        // Linux leaves *salenptr alone when accept() fails (accept(2)),
        // but not every system does: each attempt starts again from the
        // size of the caller's buffer, a habit that travels.
        if (salenptr != nullptr)
            *salenptr = salen_on_entry;
        const int connfd = accept(fd, sa, salenptr);
        if (connfd >= 0)
            return connfd;
        if (!accept_should_retry(errno))
            return -1;
    }
    // END SOLUTION
}

ssize_t Read(int fd, void *buf, std::size_t nbytes)
{
    // BEGIN SOLUTION stub: not_implemented("lab01: Read", fd, buf, nbytes);
    for (;;) {
        const ssize_t n = read(fd, buf, nbytes);
        // EINTR: a signal handler ran before any byte arrived; nothing was
        // read and nothing is wrong, so ask again.
        if (n >= 0 || errno != EINTR)
            return n;
    }
    // END SOLUTION
}

ssize_t Write(int fd, const void *buf, std::size_t nbytes)
{
    // BEGIN SOLUTION stub: not_implemented("lab01: Write", fd, buf, nbytes);
    for (;;) {
        const ssize_t n = write(fd, buf, nbytes);
        if (n >= 0 || errno != EINTR)
            return n;
    }
    // END SOLUTION
}

ssize_t Readn(int fd, void *buf, std::size_t n)
{
    // BEGIN SOLUTION stub: not_implemented("lab01: Readn", fd, buf, n);
    auto *next = static_cast<char *>(buf);
    std::size_t left = n;
    while (left > 0) {
        // A socket hands over whatever has arrived so far, which can be
        // less than we asked for: keep reading until we have it all.
        const ssize_t got = Read(fd, next, left);
        if (got < 0)
            return -1;
        if (got == 0)
            break; // end of file: return the short count
        next += got;
        left -= static_cast<std::size_t>(got);
    }
    return static_cast<ssize_t>(n - left);
    // END SOLUTION
}

ssize_t Writen(int fd, const void *buf, std::size_t n)
{
    // BEGIN SOLUTION stub: not_implemented("lab01: Writen", fd, buf, n);
    const auto *next = static_cast<const char *>(buf);
    std::size_t left = n;
    while (left > 0) {
        // A blocking write() waits until it has queued everything, but a
        // signal that arrives once some bytes went makes it return short
        // (write(2), signal(7)); so do SO_SNDTIMEO and O_NONBLOCK.
        const ssize_t sent = Write(fd, next, left);
        if (sent < 0)
            return -1;
        next += sent;
        left -= static_cast<std::size_t>(sent);
    }
    return static_cast<ssize_t>(n);
    // END SOLUTION
}

ssize_t Readline(LineBuffer &lb, void *buf, std::size_t maxlen)
{
    // BEGIN SOLUTION stub: not_implemented("lab01: Readline", lb, buf, maxlen);
    if (maxlen < 2) {
        errno = EINVAL;
        return -1;
    }
    auto *out = static_cast<char *>(buf);
    std::size_t stored = 0;
    while (stored < maxlen - 1) {
        if (lb.next == lb.end) {
            const ssize_t got = Read(lb.fd, lb.data, sizeof lb.data);
            if (got < 0)
                return -1;
            if (got == 0)
                break; // end of file: hand over the partial line, 0 next time
            lb.next = 0;
            lb.end = static_cast<std::size_t>(got);
        }
        // Take buffered bytes up to the newline or up to the caller's room,
        // whichever comes first; whatever is left stays for the next call.
        const char *start = lb.data + lb.next;
        const std::size_t room = std::min(lb.end - lb.next, maxlen - 1 - stored);
        const auto *newline = static_cast<const char *>(std::memchr(start, '\n', room));
        const std::size_t take = newline != nullptr ? std::size_t(newline - start) + 1 : room;
        std::memcpy(out + stored, start, take);
        lb.next += take;
        stored += take;
        if (newline != nullptr)
            break;
    }
    out[stored] = '\0';
    return static_cast<ssize_t>(stored);
    // END SOLUTION
}
