// wrap.h -- error-checked wrappers around the socket calls of the course note.
//
// Each wrapper has the name of the system call it wraps, capitalised, and the
// same arguments (the convention of Stevens' UNP, which the course note's wrap.h
// follows).  What a wrapper does when the call fails is the lesson of lab01,
// and it follows one rule:
//
//   * Set-up calls -- Socket, Bind, Listen, Connect, Close -- end the process
//     through perr_exit() with a message that names the call and strerror().
//     A program that cannot create its socket has nothing sensible left to do,
//     and a failing close() means the program has lost track of a descriptor.
//
//   * Per-connection I/O -- Accept, Read, Write, Readn, Writen, Readline --
//     retries the failures that are not failures (EINTR: a signal arrived;
//     for Accept, an error of the new connection itself) and returns -1
//     with errno set for everything else.  They do not die, unlike UNP's
//     wrappers, because in a server an error on one connection (a client that
//     reset, EPIPE, EMFILE for a moment) must not end the service for every
//     other client.  The caller decides: drop that client, back off, or exit.
//
// Descriptors stay plain ints on purpose: lab03 is about who closes which
// descriptor after fork(), and an owning C++ wrapper would hide that lesson.
#pragma once

#include <cstddef>
#include <sys/socket.h>
#include <sys/types.h>

// Print "what: strerror(errno)" on stderr and exit with status 1.
[[noreturn]] void perr_exit(const char *what);

// socket(2); dies on failure.  Returns the new descriptor.
int Socket(int family, int type, int protocol);

// bind(2); dies on failure with "bind to ADDR:PORT: reason".
void Bind(int fd, const struct sockaddr *sa, socklen_t salen);

// listen(2); dies on failure.
void Listen(int fd, int backlog);

// connect(2); dies on failure with "connect to ADDR:PORT: reason".
void Connect(int fd, const struct sockaddr *sa, socklen_t salen);

// close(2); dies on failure (EBADF means the descriptor was already closed).
void Close(int fd);

// accept(2), retried after EINTR and after every error that concerns the new
// connection, not the listening socket: ECONNABORTED, and the network errors
// Linux passes on from it -- ENETDOWN, EPROTO, ENOPROTOOPT, EHOSTDOWN,
// ENONET, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH, and EPERM from a firewall
// (accept(2), "Error handling": retry them as after EAGAIN).  *salenptr is
// set back to its value on entry before every attempt: Linux leaves it
// unchanged on error, other systems may not.  Returns the connected
// descriptor, or -1 with errno set: EMFILE, ENFILE, ENOBUFS, ENOMEM (out of
// resources: the caller may back off and try again) or a bug in the caller
// (EBADF, EFAULT, EINVAL, ENOTSOCK).
int Accept(int fd, struct sockaddr *sa, socklen_t *salenptr);

// read(2), retried after EINTR.  Returns the byte count (0 at end of file,
// possibly fewer than nbytes), or -1 with errno set.
ssize_t Read(int fd, void *buf, std::size_t nbytes);

// write(2), retried after EINTR.  Returns the byte count, which can be fewer
// than nbytes: a blocking socket waits until all is queued, but returns short
// when a signal arrives after some bytes went (or with SO_SNDTIMEO or
// O_NONBLOCK); -1 with errno set.  Use Writen to send everything.
ssize_t Write(int fd, const void *buf, std::size_t nbytes);

// Read exactly n bytes, looping over short reads.  Returns n, or fewer if end
// of file came first; -1 with errno set on error.
ssize_t Readn(int fd, void *buf, std::size_t n);

// Write all n bytes, looping over short writes.  Returns n, or -1 with errno
// set (EPIPE or ECONNRESET when the peer has gone, with SIGPIPE ignored).
ssize_t Writen(int fd, const void *buf, std::size_t n);

// The read-ahead buffer behind Readline.  One per descriptor, owned by the
// caller: no hidden static state, so Readline is reentrant and two
// connections never share bytes.  Once Readline has been used on a
// descriptor, read it only through the same LineBuffer -- bytes already
// buffered here are not in the kernel any more.
struct LineBuffer {
    static constexpr std::size_t kCapacity = 4096;

    explicit LineBuffer(int fd) : fd(fd) {}

    int fd;
    std::size_t next = 0; // first unread byte in data
    std::size_t end = 0;  // one past the last valid byte in data
    char data[kCapacity];
};

// Read one line from lb.fd into buf, which has room for maxlen bytes
// (maxlen >= 2).  Stores bytes up to and including '\n', at most maxlen - 1
// of them, then a terminating '\0'.  Returns the number of bytes stored,
// not counting the '\0' -- use it, not strlen(): a line may contain '\0'.
//   * A line longer than maxlen - 1 is returned in pieces: this call stores
//     maxlen - 1 bytes with no '\n' at the end, the next call goes on where
//     this one stopped.  No byte is ever dropped.
//   * At end of file in mid-line the last piece has no '\n'; the call after
//     returns 0.
//   * -1 with errno set on error (EINVAL if maxlen < 2); the line in progress
//     is lost, as the connection is.
ssize_t Readline(LineBuffer &lb, void *buf, std::size_t maxlen);
