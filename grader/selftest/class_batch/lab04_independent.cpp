// An independently written lab04 server.cpp, for the class report's
// similarity test: the same interface (server.h) as the kit's reference,
// written without looking at its bodies.  It is graded like any submission.
#include "server.h"
#include "todo.h"
#include "wrap.h"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

namespace {

bool parse_decimal(const char *s, unsigned long limit, unsigned long *value)
{
    unsigned long total = 0;
    if (*s == '\0')
        return false;
    for (; *s != '\0'; ++s) {
        if (*s < '0' || *s > '9')
            return false;
        total = total * 10 + static_cast<unsigned long>(*s - '0');
        if (total > limit)
            return false;
    }
    *value = total;
    return true;
}

void log_peer(const char *what, const sockaddr_in &peer)
{
    char text[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
    std::printf("%s %s at PORT %u\n", what, text, unsigned{ntohs(peer.sin_port)});
}

} // namespace

std::uint16_t port_from_args(int argc, char *argv[])
{
    unsigned long value = kDefaultPort;
    const bool ok = argc == 1 || (argc == 2 && parse_decimal(argv[1], 65535, &value) && value > 0);
    if (!ok) {
        std::fprintf(stderr, "usage: %s [PORT], PORT between 1 and 65535\n", argv[0]);
        std::exit(kUsageStatus);
    }
    return static_cast<std::uint16_t>(value);
}

int open_listener(std::uint16_t port)
{
    int sock = Socket(AF_INET, SOCK_STREAM, 0);
    int yes = 1;
    if (setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) != 0)
        perr_exit("setsockopt");
    sockaddr_in where;
    std::memset(&where, 0, sizeof where);
    where.sin_family = AF_INET;
    where.sin_port = htons(port);
    where.sin_addr.s_addr = htonl(INADDR_ANY);
    Bind(sock, reinterpret_cast<sockaddr *>(&where), sizeof where);
    Listen(sock, kBacklog);
    return sock;
}

void uppercase(char *buf, std::size_t n)
{
    char *end = buf + n;
    while (buf != end) {
        if (*buf >= 'a' && *buf <= 'z')
            *buf = static_cast<char>(*buf - 'a' + 'A');
        ++buf;
    }
}

void serve_client(int connfd, const sockaddr_in &cliaddr)
{
    static char data[kBufferSize];
    ssize_t got;
    while ((got = Read(connfd, data, sizeof data)) > 0) {
        log_peer("received from", cliaddr);
        uppercase(data, static_cast<std::size_t>(got));
        if (Writen(connfd, data, static_cast<std::size_t>(got)) != got)
            break;
    }
    if (got == 0)
        std::printf("the other side has been closed.\n");
}

void ignore_sigpipe()
{
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        perr_exit("signal");
}

void after_accept_error()
{
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        usleep(kAcceptRetryMs * 1000);
        return;
    }
    if (errno == EBADF || errno == EINVAL || errno == ENOTSOCK || errno == EFAULT)
        perr_exit("accept");
}

pid_t fork_child(int listenfd, int connfd, const sockaddr_in &cliaddr)
{
    pid_t child = fork();
    if (child == 0) {
        close(listenfd);
        serve_client(connfd, cliaddr);
        close(connfd);
        _exit(EXIT_SUCCESS);
    }
    if (child == -1)
        perror("fork");
    close(connfd);
    return child;
}

void reap_children(int)
{
    int keep = errno;
    for (;;) {
        if (waitpid(-1, nullptr, WNOHANG) <= 0)
            break;
    }
    errno = keep;
}

void install_sigchld_handler()
{
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_handler = &reap_children;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGCHLD, &action, nullptr) == -1)
        perr_exit("sigaction");
}

int main(int argc, char *argv[])
{
    std::uint16_t port = port_from_args(argc, argv);
    setvbuf(stdout, nullptr, _IOLBF, 0);
    ignore_sigpipe();
    install_sigchld_handler();
    int lfd = open_listener(port);
    std::printf("Accepting connections on port %u ...\n", unsigned{port});
    for (;;) {
        sockaddr_in peer;
        socklen_t len = sizeof peer;
        int cfd = Accept(lfd, reinterpret_cast<sockaddr *>(&peer), &len);
        if (cfd == -1)
            after_accept_error();
        else
            fork_child(lfd, cfd, peer);
    }
}
