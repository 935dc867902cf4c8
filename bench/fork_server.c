/* fork_server.c -- the bench's bare fork-per-connection uppercase server, in C.
 *
 *   fork_server [PORT]         (listens on 127.0.0.1, default port 9877)
 *
 * The course note's forking server in plain C, corrected: the model of lab04 (one
 * child per connection, children reaped by a SIGCHLD handler) doing the same
 * work -- the course note's log lines included -- with no C++ runtime and a parent
 * that allocates nothing.  The bench uses it as the yardstick for lab04's
 * reference server ("C++ is no excuse to be slower"), and builds it twice, once
 * dynamically linked and once with -static, to show that what fork() copies
 * (the parent's mappings and page tables) is what it costs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { DEFAULT_PORT = 9877, BACKLOG = 1024 };

static void die(const char *what)
{
    fprintf(stderr, "fork_server: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The port in argv[1], or the default; exits with status 2 on a bad one. */
static int parse_port(int argc, char **argv)
{
    char *end = NULL;
    long port;

    if (argc > 2) {
        fprintf(stderr, "usage: fork_server [PORT]\n");
        exit(2);
    }
    if (argc == 1)
        return DEFAULT_PORT;
    port = strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "fork_server: the port is a number from 1 to 65535, not '%s'\n", argv[1]);
        exit(2);
    }
    return (int)port;
}

static void reap_children(int signo)
{
    int saved_errno = errno; /* waitpid() may change errno under the interrupted code */

    (void)signo;
    /* One SIGCHLD can stand for several dead children: reap all of them. */
    while (waitpid(-1, NULL, WNOHANG) > 0)
        continue;
    errno = saved_errno;
}

static void install_handlers(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = reap_children;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* so that accept() is not cut short by every child's exit */
    if (sigaction(SIGCHLD, &sa, NULL) < 0)
        die("sigaction SIGCHLD");
    sa.sa_handler = SIG_IGN; /* a client that leaves must not kill us with SIGPIPE */
    sa.sa_flags = 0;
    if (sigaction(SIGPIPE, &sa, NULL) < 0)
        die("sigaction SIGPIPE");
}

/* A socket listening on 127.0.0.1:port; dies on failure. */
static int listen_on_loopback(int port)
{
    struct sockaddr_in servaddr;
    int on = 1;
    int listenfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (listenfd < 0)
        die("socket");
    if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
        die("setsockopt SO_REUSEADDR");
    memset(&servaddr, 0, sizeof servaddr);
    servaddr.sin_family = AF_INET;
    servaddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    servaddr.sin_port = htons((unsigned short)port);
    if (bind(listenfd, (struct sockaddr *)&servaddr, sizeof servaddr) < 0)
        die("bind");
    if (listen(listenfd, BACKLOG) < 0)
        die("listen");
    return listenfd;
}

/* Write all n bytes; 0 on success, -1 with errno set. */
static int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t done = write(fd, buf, n);
        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            return -1;
        buf += done;
        n -= (size_t)done;
    }
    return 0;
}

/* Echo connfd's bytes uppercased until the client closes or an error,
 * logging as the course note does. */
static void serve_client(int connfd, const struct sockaddr_in *cliaddr)
{
    char buf[4096];
    char addr[INET_ADDRSTRLEN];
    ssize_t n;

    inet_ntop(AF_INET, &cliaddr->sin_addr, addr, sizeof addr);
    for (;;) {
        n = read(connfd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            printf("the other side has been closed.\n");
        if (n <= 0)
            return;
        printf("received from %s at PORT %d\n", addr, ntohs(cliaddr->sin_port));
        for (ssize_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)buf[i];
            buf[i] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        }
        if (write_all(connfd, buf, (size_t)n) < 0)
            return;
    }
}

int main(int argc, char **argv)
{
    int listenfd = listen_on_loopback(parse_port(argc, argv));

    setvbuf(stdout, NULL, _IOLBF, 0); /* a log line per line, none lost or doubled */
    install_handlers();
    for (;;) {
        struct sockaddr_in cliaddr;
        socklen_t cliaddr_len = sizeof cliaddr;
        int connfd = accept(listenfd, (struct sockaddr *)&cliaddr, &cliaddr_len);
        if (connfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue; /* a signal, or a client that left before we accepted it */
            perror("fork_server: accept");
            usleep(100000); /* out of descriptors or memory: back off, don't spin */
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(listenfd); /* the child serves connfd only */
            serve_client(connfd, &cliaddr);
            _exit(0); /* never fall back into the accept loop; don't flush stdio twice */
        }
        if (pid < 0)
            perror("fork_server: fork"); /* one client refused, the service goes on */
        close(connfd); /* the child has its own copy; ours would leak until EMFILE */
    }
}
