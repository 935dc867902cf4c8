// epoll_server.cpp -- the uppercase-echo server without fork: one process,
// one thread, every connection multiplexed through epoll.
//
//   epoll_server [PORT]        (listens on 127.0.0.1, default port 9877)
//
// It is the bench's ceiling: the same protocol as the lab servers (every byte
// back in order, a-z as A-Z), served with no process created per connection,
// so the difference between it and the forking server is what fork() costs.
// Each connection keeps the bytes it could not send yet; while it has some,
// the server stops reading from it, so a client that does not read cannot
// make the server buffer without bound.
#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>

namespace {

constexpr int kDefaultPort = 9877;
constexpr int kBacklog = 1024;

[[noreturn]] void die(const char *what)
{
    std::fprintf(stderr, "epoll_server: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

// The port in argv[1], or the default; exits with status 2 on a bad one.
int parse_port(int argc, char **argv)
{
    if (argc > 2) {
        std::fprintf(stderr, "usage: epoll_server [PORT]\n");
        std::exit(2);
    }
    if (argc == 1)
        return kDefaultPort;
    char *end = nullptr;
    const long port = std::strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || port < 1 || port > 65535) {
        std::fprintf(stderr, "epoll_server: the port is a number from 1 to 65535, not '%s'\n",
                     argv[1]);
        std::exit(2);
    }
    return static_cast<int>(port);
}

// A non-blocking socket listening on 127.0.0.1:port; dies on failure.
int listen_on_loopback(int port)
{
    const int listenfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listenfd < 0)
        die("socket");
    const int on = 1;
    // Restarting the bench must not fail with EADDRINUSE on a port in TIME_WAIT.
    if (setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
        die("setsockopt SO_REUSEADDR");
    sockaddr_in servaddr{};
    servaddr.sin_family = AF_INET;
    servaddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    servaddr.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(listenfd, reinterpret_cast<sockaddr *>(&servaddr), sizeof servaddr) < 0)
        die("bind");
    if (listen(listenfd, kBacklog) < 0)
        die("listen");
    return listenfd;
}

// What the server still owes one client.
struct Connection {
    std::string unsent;
    std::uint32_t watching = EPOLLIN; // EPOLLOUT while unsent holds bytes
};

class Server {
  public:
    explicit Server(int listenfd);
    [[noreturn]] void run();

  private:
    void accept_all();
    void serve(int connfd);
    bool echo_available(int connfd, Connection &conn);
    bool flush(int connfd, Connection &conn);
    void watch(int connfd, std::uint32_t events, int op);
    void drop(int connfd);

    int listenfd_;
    int epfd_;
    std::unordered_map<int, Connection> conns_;
};

Server::Server(int listenfd) : listenfd_(listenfd), epfd_(epoll_create1(EPOLL_CLOEXEC))
{
    if (epfd_ < 0)
        die("epoll_create1");
    watch(listenfd_, EPOLLIN, EPOLL_CTL_ADD);
}

void Server::run()
{
    constexpr int kMaxEvents = 256;
    epoll_event events[kMaxEvents];
    for (;;) {
        const int n = epoll_wait(epfd_, events, kMaxEvents, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; ++i) {
            if (events[i].data.fd == listenfd_)
                accept_all();
            else
                serve(events[i].data.fd);
        }
    }
}

// Accept every connection that is waiting.  Out of descriptors (EMFILE), the
// pending connection stays in the queue and epoll reports it again; the
// server goes on serving the connections it has.
void Server::accept_all()
{
    for (;;) {
        const int connfd = accept4(listenfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (connfd >= 0) {
            conns_.emplace(connfd, Connection{});
            watch(connfd, EPOLLIN, EPOLL_CTL_ADD);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (errno != EAGAIN)
            std::fprintf(stderr, "epoll_server: accept: %s\n", std::strerror(errno));
        return;
    }
}

// One step for a connection epoll reported ready: echo what arrived, or go on
// sending what is owed.  Errors and hang-ups show up as the read or send fails.
void Server::serve(int connfd)
{
    Connection &conn = conns_[connfd];
    const bool open = conn.unsent.empty() ? echo_available(connfd, conn) : flush(connfd, conn);
    if (!open) {
        drop(connfd);
        return;
    }
    const std::uint32_t wanted = conn.unsent.empty() ? EPOLLIN : EPOLLOUT;
    if (wanted != conn.watching) {
        watch(connfd, wanted, EPOLL_CTL_MOD);
        conn.watching = wanted;
    }
}

// Read what the client sent, send it back uppercased.  Returns false when the
// connection is over (end of file or an error).
bool Server::echo_available(int connfd, Connection &conn)
{
    char buf[64 * 1024];
    const ssize_t n = read(connfd, buf, sizeof buf);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    if (n == 0)
        return false;
    for (ssize_t i = 0; i < n; ++i) {
        // toupper() on a negative char is undefined: go through unsigned char.
        const auto c = static_cast<unsigned char>(buf[i]);
        buf[i] = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    conn.unsent.assign(buf, static_cast<std::size_t>(n));
    return flush(connfd, conn);
}

// Send as much of conn.unsent as the socket takes.  Returns false on an error
// (the client has gone: EPIPE, ECONNRESET).
bool Server::flush(int connfd, Connection &conn)
{
    while (!conn.unsent.empty()) {
        // MSG_NOSIGNAL: a client that has gone gives EPIPE, not a fatal SIGPIPE.
        const ssize_t n = send(connfd, conn.unsent.data(), conn.unsent.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN;
        conn.unsent.erase(0, static_cast<std::size_t>(n));
    }
    return true;
}

void Server::watch(int fd, std::uint32_t events, int op)
{
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epfd_, op, fd, &ev) < 0)
        die("epoll_ctl");
}

void Server::drop(int connfd)
{
    conns_.erase(connfd);
    close(connfd); // also removes connfd from the epoll set
}

} // namespace

int main(int argc, char **argv)
{
    const int port = parse_port(argc, argv);
    Server server(listen_on_loopback(port));
    std::printf("epoll_server: listening on 127.0.0.1:%d\n", port);
    std::fflush(stdout);
    server.run();
}
