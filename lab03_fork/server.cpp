// server.cpp -- lab03: the forking uppercase-echo server, one child per client.
//
// Student file.  The course note's structure: the parent accepts, forks a
// child for each connection and goes straight back to accept(); the child
// serves that one client and exits.  Start from your lab02 server.cpp: its
// functions are unchanged here (copy them over), and fork_child is new.
// server.h says what each function must do and README.md gives the steps.
// This lab reaps nothing yet: the children you will see as zombies (Z in
// ps) are lab04's business.
//
//   server [PORT]        (default 6666)
#include "server.h"
#include "todo.h"
#include "wrap.h"

#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/types.h>
#include <thread>
#include <unistd.h>

std::uint16_t port_from_args(int argc, char *argv[])
{
    // BEGIN SOLUTION stub: not_implemented("lab03: port_from_args (from lab02)", argc, argv);
    if (argc == 1)
        return kDefaultPort;
    const char *program = argc > 0 ? argv[0] : "server";
    if (argc == 2) {
        const char *text = argv[1];
        const char *end = text + std::strlen(text);
        unsigned long port = 0;
        const auto [stop, error] = std::from_chars(text, end, port);
        if (error == std::errc() && stop == end && port >= 1 && port <= 65535)
            return static_cast<std::uint16_t>(port);
        std::fprintf(stderr, "%s: bad port '%s': expected a number from 1 to 65535\n", program,
                     text);
    }
    std::fprintf(stderr, "usage: %s [PORT]   (default port: %u)\n", program,
                 unsigned{kDefaultPort});
    std::exit(kUsageStatus);
    // END SOLUTION
}

int open_listener(std::uint16_t port)
{
    // BEGIN SOLUTION stub: not_implemented("lab03: open_listener (from lab02)", port);
    const int listenfd = Socket(AF_INET, SOCK_STREAM, 0);
    // Without SO_REUSEADDR, a server restarted while connections of its
    // previous run linger in TIME_WAIT cannot bind its port for a minute.
    const int on = 1;
    if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
        perr_exit("setsockopt SO_REUSEADDR");

    sockaddr_in servaddr{};
    servaddr.sin_family = AF_INET;
    servaddr.sin_addr.s_addr = htonl(INADDR_ANY);
    servaddr.sin_port = htons(port);
    Bind(listenfd, reinterpret_cast<const sockaddr *>(&servaddr), sizeof servaddr);
    Listen(listenfd, kBacklog);
    return listenfd;
    // END SOLUTION
}

void uppercase(char *buf, std::size_t n)
{
    // BEGIN SOLUTION stub: not_implemented("lab03: uppercase (from lab02)", buf, n);
    for (std::size_t i = 0; i < n; ++i) {
        // toupper() takes an unsigned char value (or EOF): where plain char
        // is signed (x86-64; not AArch64), a byte >= 0x80 is negative, and
        // passing it is undefined behaviour.
        const auto byte = static_cast<unsigned char>(buf[i]);
        buf[i] = static_cast<char>(std::toupper(byte));
    }
    // END SOLUTION
}

void serve_client(int connfd, const sockaddr_in &cliaddr)
{
    // BEGIN SOLUTION stub: not_implemented("lab03: serve_client (from lab02)", connfd, cliaddr);
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &cliaddr.sin_addr, addr, sizeof addr);
    const unsigned port = ntohs(cliaddr.sin_port);

    char buf[kBufferSize];
    for (;;) {
        // Whatever one read returns is answered at once: TCP is a byte
        // stream, and a line may come in pieces or many lines in one read.
        const ssize_t n = Read(connfd, buf, sizeof buf);
        if (n == 0) {
            std::printf("the other side has been closed.\n");
            return;
        }
        if (n < 0) {
            std::fprintf(stderr, "read from %s at PORT %u: %s\n", addr, port, std::strerror(errno));
            return;
        }
        std::printf("received from %s at PORT %u\n", addr, port);
        const auto count = static_cast<std::size_t>(n);
        uppercase(buf, count);
        if (Writen(connfd, buf, count) < 0) {
            std::fprintf(stderr, "write to %s at PORT %u: %s\n", addr, port, std::strerror(errno));
            return;
        }
    }
    // END SOLUTION
}

void ignore_sigpipe()
{
    // BEGIN SOLUTION stub: not_implemented("lab03: ignore_sigpipe (from lab02)");
    struct sigaction sa {};
    // A write to a client that has gone then fails (EPIPE, or ECONNRESET), and
    // only that connection ends; by default, SIGPIPE would kill the whole process.
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, nullptr) < 0)
        perr_exit("sigaction SIGPIPE");
    // END SOLUTION
}

void after_accept_error()
{
    // BEGIN SOLUTION stub: not_implemented("lab03: after_accept_error (from lab02)");
    const int err = errno;
    switch (err) {
    case EINTR:
    case ECONNABORTED:
    case EPERM:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENONET:
    case ENOPROTOOPT:
    case EOPNOTSUPP:
    case EPROTO:
        // One connection failed before we took it, and Linux reported its
        // error through accept() (accept(2), "Error handling").  The
        // listening socket is fine: accept the next client at once.
        std::fprintf(stderr, "accept: %s; accepting the next client\n", std::strerror(err));
        return;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        // Out of descriptors or memory: that passes as clients leave.  Ending
        // the service would be worse, and retrying at once would spin the CPU.
        std::fprintf(stderr, "accept: %s; trying again in %d ms\n", std::strerror(err),
                     kAcceptRetryMs);
        std::this_thread::sleep_for(std::chrono::milliseconds(kAcceptRetryMs));
        return;
    default:
        perr_exit("accept"); // EBADF, EINVAL, ENOTSOCK...: a bug in this server
    }
    // END SOLUTION
}

pid_t fork_child(int listenfd, int connfd, const sockaddr_in &cliaddr)
{
    // BEGIN SOLUTION stub: not_implemented("lab03: fork_child", listenfd, connfd, cliaddr);
    const pid_t pid = fork();
    if (pid < 0)
        perr_exit("fork"); // the course note's choice, which lab04 corrects
    if (pid == 0) {
        // The child serves this one client; the listening socket is the
        // parent's business, and a copy here would keep the port open.
        Close(listenfd);
        serve_client(connfd, cliaddr);
        Close(connfd);
        // Never return into the accept loop: this process would accept
        // clients of its own.  _exit, not exit: the stdio buffers copied
        // from the parent must not be flushed a second time.
        _exit(0);
    }
    // The child has its own copy of connfd.  Ours would keep the connection
    // open after the child closes it, and leak one descriptor per client
    // until accept() fails with EMFILE.
    Close(connfd);
    return pid;
    // END SOLUTION
}

int main(int argc, char *argv[])
{
    // BEGIN SOLUTION stub: not_implemented("lab03: main", argc, argv);
    const std::uint16_t port = port_from_args(argc, argv);
    // Line-buffered: each log line reaches the log when it is printed, not
    // when a 4 KB buffer fills -- or never, if the server is killed.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    ignore_sigpipe();
    const int listenfd = open_listener(port);
    std::printf("Accepting connections on port %u ...\n", unsigned{port});

    for (;;) {
        sockaddr_in cliaddr{};
        socklen_t cliaddr_len = sizeof cliaddr;
        const int connfd = Accept(listenfd, reinterpret_cast<sockaddr *>(&cliaddr), &cliaddr_len);
        if (connfd < 0) {
            after_accept_error();
            continue;
        }
        // The child serves the client; the parent is back in Accept at once.
        fork_child(listenfd, connfd, cliaddr);
    }
    // END SOLUTION
}
