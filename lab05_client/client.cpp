// client.cpp -- lab05: a client for the uppercase server that loses no byte.
//
// Student file.  `client [HOST [PORT]]` connects to the server, sends it
// everything that arrives on stdin and prints every byte it sends back, in
// order.  Unlike the course note's client it never waits for one side while
// the other has something to say: poll() watches stdin and the socket
// together.  At end of input it half-closes the connection and keeps
// printing replies until the server closes.  Read client.h for what each
// function must do and README.md for the steps and the reasons.
#include "client.h"
#include "todo.h"
#include "wrap.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

// BEGIN SOLUTION stub: // Helper functions of your own go here, in an anonymous namespace.
namespace {

// How much the client reads from stdin, or from the socket, at a time.
constexpr std::size_t kChunkSize = 16 * 1024;

// Print "what: strerror(errno)" on stderr.  Returns kFailureStatus.
int report(const char *what)
{
    std::fprintf(stderr, "%s: %s\n", what, std::strerror(errno));
    return kFailureStatus;
}

[[noreturn]] void resolve_failed(const char *host, const char *reason)
{
    std::fprintf(stderr, "resolve %s: %s\n", host, reason);
    std::exit(kFailureStatus);
}

// Only digits and dots: meant as an IPv4 address, never a host name (no
// top-level domain is all digits).
bool looks_numeric(const char *host)
{
    return std::strspn(host, "0123456789.") == std::strlen(host);
}

// The IPv4 address of host, with port.  Dies with "resolve HOST: reason" when
// host is neither a dotted address nor a name that resolves.
sockaddr_in resolve(const char *host, std::uint16_t port)
{
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    // AI_NUMERICHOST first: an address needs no lookup.  Without it,
    // getaddrinfo() takes "300.1.2.3" for a host name and asks DNS, which
    // answers EAI_NONAME -- or, offline, EAI_AGAIN after a timeout.  Digits
    // and dots that are not an address are refused at once; anything else
    // is looked up as a name.
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo *found = nullptr;
    int err = getaddrinfo(host, nullptr, &hints, &found);
    if (err == EAI_NONAME) {
        if (looks_numeric(host))
            resolve_failed(host, "not an IPv4 address");
        hints.ai_flags = 0;
        err = getaddrinfo(host, nullptr, &hints, &found);
    }
    if (err != 0)
        resolve_failed(host, err == EAI_SYSTEM ? std::strerror(errno) : gai_strerror(err));
    sockaddr_in servaddr{};
    std::memcpy(&servaddr, found->ai_addr, sizeof servaddr);
    freeaddrinfo(found);
    servaddr.sin_port = htons(port);
    return servaddr;
}

// Bytes read from stdin that the socket has not taken yet.
struct Outbox {
    char data[kChunkSize];
    std::size_t next = 0; // first byte not sent yet
    std::size_t end = 0;  // one past the last byte read
    bool empty() const { return next == end; }
};

// Give the socket as much of the outbox as it takes now.  Returns false on an
// error (errno set), true otherwise -- also when it took nothing.
bool send_some(int sockfd, Outbox &outbox)
{
    // MSG_DONTWAIT: never block here while replies pile up unread (see the
    // README, "Why not Writen to the socket").  MSG_NOSIGNAL: a server that
    // has gone makes send() fail (EPIPE, or ECONNRESET) instead of killing us
    // by SIGPIPE.
    const ssize_t n = send(sockfd, outbox.data + outbox.next, outbox.end - outbox.next,
                           MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    outbox.next += static_cast<std::size_t>(n);
    return true;
}

enum class Progress { going_on, finished, failed };

// One read from the server, copied to outfd.  input_open: stdin has not
// reached its end yet (so we have not half-closed).
Progress copy_reply(int sockfd, int outfd, bool input_open)
{
    char buf[kChunkSize];
    const ssize_t n = Read(sockfd, buf, sizeof buf);
    if (n < 0) {
        report("read from server");
        return Progress::failed;
    }
    if (n == 0) {
        // After our half-close, end of file means the server has sent all it
        // had to send.  Before it, the server left while we still had input.
        if (!input_open)
            return Progress::finished;
        std::fprintf(stderr, "%s\n", kServerClosedMessage);
        return Progress::failed;
    }
    // The reply is bytes, not a string: it may hold '\0', so write all n of
    // them (strlen() would stop at the first '\0').
    if (Writen(outfd, buf, static_cast<std::size_t>(n)) < 0) {
        report("write to stdout");
        return Progress::failed;
    }
    return Progress::going_on;
}

// One read from infd into the empty outbox.  Returns what Read() returned:
// the byte count, 0 at end of input, -1 on error.
ssize_t take_input(int infd, Outbox &outbox)
{
    const ssize_t n = Read(infd, outbox.data, sizeof outbox.data);
    outbox.next = 0;
    outbox.end = n > 0 ? static_cast<std::size_t>(n) : 0;
    return n;
}

} // namespace
// END SOLUTION

void usage(const char *program)
{
    std::fprintf(stderr,
                 "usage: %s [HOST [PORT]]\n"
                 "  HOST  host name or IPv4 address of the server (default %s)\n"
                 "  PORT  its TCP port, 1-65535 (default %u)\n"
                 "Sends standard input to the server and prints its replies.\n",
                 program, kDefaultHost, static_cast<unsigned>(kDefaultPort));
    std::exit(kUsageStatus);
}

std::uint16_t parse_port(const char *text)
{
    // BEGIN SOLUTION stub: not_implemented("lab05: parse_port", text);
    // Digits only: strtoul() would also take " 80", "+80" and "80x", and
    // turn "-1" into a huge number.
    if (*text == '\0')
        return 0;
    unsigned long value = 0;
    for (const char *p = text; *p != '\0'; ++p) {
        if (*p < '0' || *p > '9')
            return 0;
        value = value * 10 + static_cast<unsigned long>(*p - '0');
        if (value > 65535)
            return 0; // stop before a long string of digits overflows
    }
    return static_cast<std::uint16_t>(value); // "0" gives 0: not a port either
    // END SOLUTION
}

ServerAddress parse_command_line(int argc, char *argv[])
{
    // BEGIN SOLUTION stub: not_implemented("lab05: parse_command_line", argc, argv);
    if (argc > 3)
        usage(argv[0]);
    ServerAddress server{kDefaultHost, kDefaultPort};
    if (argc > 1) {
        server.host = argv[1];
        if (server.host[0] == '\0' || server.host[0] == '-')
            usage(argv[0]);
    }
    if (argc > 2) {
        server.port = parse_port(argv[2]);
        if (server.port == 0)
            usage(argv[0]);
    }
    return server;
    // END SOLUTION
}

int connect_to_server(const char *host, std::uint16_t port)
{
    // BEGIN SOLUTION stub: not_implemented("lab05: connect_to_server", host, port);
    const sockaddr_in servaddr = resolve(host, port);
    const int sockfd = Socket(AF_INET, SOCK_STREAM, 0);
    Connect(sockfd, reinterpret_cast<const sockaddr *>(&servaddr), sizeof servaddr);
    return sockfd;
    // END SOLUTION
}

int relay(int infd, int sockfd, int outfd)
{
    // BEGIN SOLUTION stub: not_implemented("lab05: relay", infd, sockfd, outfd);
    Outbox outbox;
    bool input_open = true;
    for (;;) {
        // Read more input only once the socket has taken the last piece, and
        // stop watching stdin at its end: poll() would report it readable
        // (at end of file) every time, and the loop would spin.
        const bool want_input = input_open && outbox.empty();
        const short sock_events = outbox.empty() ? POLLIN : POLLIN | POLLOUT;
        pollfd fds[2] = {{sockfd, sock_events, 0}, {want_input ? infd : -1, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return report("poll");
        }
        // Replies first: they free the server to read what we send next.
        if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            const Progress progress = copy_reply(sockfd, outfd, input_open);
            if (progress != Progress::going_on)
                return progress == Progress::finished ? 0 : kFailureStatus;
        }
        if ((fds[0].revents & POLLOUT) != 0 && !send_some(sockfd, outbox))
            return report("send to server");
        // Any event, not only POLLIN: an emptied pipe whose writer has gone
        // gives POLLHUP alone (poll(2)).  read() tells what happened.
        if (fds[1].revents != 0) {
            const ssize_t n = take_input(infd, outbox);
            if (n < 0)
                return report("read from stdin");
            if (n == 0) {
                // shutdown(SHUT_WR), not close(): the server reads end of
                // file and finishes, while our receiving half stays open for
                // the replies it still owes us.  Exiting or closing here
                // would throw those replies away.
                input_open = false;
                if (shutdown(sockfd, SHUT_WR) < 0)
                    return report("shutdown");
            }
        }
    }
    // END SOLUTION
}

int main(int argc, char *argv[])
{
    const ServerAddress server = parse_command_line(argc, argv);
    const int sockfd = connect_to_server(server.host, server.port);
    const int status = relay(STDIN_FILENO, sockfd, STDOUT_FILENO);
    Close(sockfd);
    return status;
}
