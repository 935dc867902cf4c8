// server.cpp -- lab07: one process, many clients.
//
// Student file.  The uppercase-echo server of the earlier labs without a
// process per connection: one process, one poll(2) over every socket, each
// of them non-blocking, a reply buffer per client.  A client that never
// reads costs at most kMaxPending bytes (the server stops reading from it),
// a thousand idle clients cost a descriptor each, and SIGTERM or SIGINT
// reaches the loop through a self-pipe.  server.h says what each function
// must do and README.md gives the steps.
//
//   server [-c MAX_CLIENTS] [PORT]   (defaults: 1024 clients, port 6666)
#include "server.h"
#include "todo.h"
#include "wrap.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

volatile sig_atomic_t g_stop_signal = 0;
int g_wakeup_fd = -1;

using Clock = std::chrono::steady_clock;

// BEGIN SOLUTION
namespace {

void print_usage(const char *program)
{
    std::fprintf(stderr, "usage: %s [-c MAX_CLIENTS] [PORT]   (defaults: %d clients, port %u)\n",
                 program, kDefaultMaxClients, unsigned{kDefaultPort});
}

// The whole of text as a number from low to high, or false.
bool parse_number(const char *text, long low, long high, long &value)
{
    const char *end = text + std::strlen(text);
    const auto [stop, error] = std::from_chars(text, end, value);
    return error == std::errc() && stop == end && value >= low && value <= high;
}

[[noreturn]] void usage_error(const char *program)
{
    print_usage(program);
    std::exit(kUsageStatus);
}

bool is_transient(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

bool accepting(const Server &server, Clock::time_point now)
{
    return server.listenfd >= 0 && server.clients.size() < server.max_clients &&
           now >= server.accept_paused_until;
}

} // namespace
// END SOLUTION

Options options_from_args(int argc, char *argv[])
{
    // BEGIN SOLUTION stub: not_implemented("lab07: options_from_args", argc, argv);
    const char *program = argc > 0 ? argv[0] : "server";
    Options options;
    int option;
    while ((option = getopt(argc, argv, "c:")) != -1) {
        long value = 0;
        if (option != 'c')
            usage_error(program); // getopt has named the unknown option
        if (!parse_number(optarg, 1, kMaxClientsLimit, value)) {
            std::fprintf(stderr, "%s: bad -c '%s': expected a number from 1 to %d\n", program,
                         optarg, kMaxClientsLimit);
            usage_error(program);
        }
        options.max_clients = static_cast<std::size_t>(value);
    }
    if (argc - optind > 1)
        usage_error(program);
    if (argc - optind == 1) {
        long port = 0;
        if (!parse_number(argv[optind], 1, 65535, port)) {
            std::fprintf(stderr, "%s: bad port '%s': expected a number from 1 to 65535\n", program,
                         argv[optind]);
            usage_error(program);
        }
        options.port = static_cast<std::uint16_t>(port);
    }
    return options;
    // END SOLUTION
}

void set_nonblocking(int fd)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: set_nonblocking", fd);
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        perr_exit("fcntl O_NONBLOCK");
    // END SOLUTION
}

int open_listener(std::uint16_t port)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: open_listener", port);
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

std::size_t raise_descriptor_limit()
{
    // BEGIN SOLUTION stub: not_implemented("lab07: raise_descriptor_limit");
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
        perr_exit("getrlimit RLIMIT_NOFILE");
    // Only root may raise the hard limit; anyone may raise the soft one to it.
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) < 0)
            perr_exit("setrlimit RLIMIT_NOFILE");
    }
    return static_cast<std::size_t>(limit.rlim_cur);
    // END SOLUTION
}

void uppercase(char *buf, std::size_t n)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: uppercase (from lab02)", buf, n);
    for (std::size_t i = 0; i < n; ++i) {
        // toupper() takes an unsigned char value (or EOF): where plain char
        // is signed (x86-64; not AArch64), a byte >= 0x80 is negative, and
        // passing it is undefined behaviour.
        const auto byte = static_cast<unsigned char>(buf[i]);
        buf[i] = static_cast<char>(std::toupper(byte));
    }
    // END SOLUTION
}

short events_for(const Client &client)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: events_for", client);
    short events = 0;
    // Back-pressure: a client that does not read its replies is not read
    // from either; TCP's flow control then slows its sending down.
    if (!client.read_closed && client.unsent.size() < kMaxPending)
        events |= POLLIN;
    if (!client.unsent.empty())
        events |= POLLOUT;
    return events;
    // END SOLUTION
}

bool read_from(Client &client)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: read_from", client);
    char buf[kBufferSize];
    const ssize_t n = read(client.fd, buf, sizeof buf);
    if (n < 0)
        return is_transient(errno);
    if (n == 0) {
        // A half-close, or a close: the replies still owed are sent first.
        client.read_closed = true;
        return true;
    }
    const auto count = static_cast<std::size_t>(n);
    uppercase(buf, count);
    client.unsent.append(buf, count);
    return true;
    // END SOLUTION
}

bool flush_to(Client &client)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: flush_to", client);
    std::size_t sent = 0;
    while (sent < client.unsent.size()) {
        const ssize_t n =
            write(client.fd, client.unsent.data() + sent, client.unsent.size() - sent);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            client.unsent.erase(0, sent);
            return errno == EAGAIN || errno == EWOULDBLOCK; // full: wait for POLLOUT
        }
        // A partial write is no error: the rest waits for the next POLLOUT.
        sent += static_cast<std::size_t>(n);
    }
    client.unsent.clear();
    return true;
    // END SOLUTION
}

bool finished(const Client &client)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: finished", client);
    return client.read_closed && client.unsent.empty();
    // END SOLUTION
}

void note_signal(int signo)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: note_signal", signo);
    const int saved_errno = errno;
    g_stop_signal = signo;
    // write() is async-signal-safe (signal-safety(7)); the pipe is
    // non-blocking, so a full pipe drops the byte instead of hanging here.
    if (g_wakeup_fd >= 0)
        (void)!write(g_wakeup_fd, "", 1);
    errno = saved_errno;
    // END SOLUTION
}

int install_stop_signals()
{
    // BEGIN SOLUTION stub: not_implemented("lab07: install_stop_signals");
    int ends[2];
    if (pipe2(ends, O_NONBLOCK | O_CLOEXEC) < 0)
        perr_exit("pipe2");
    g_wakeup_fd = ends[1];
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = note_signal;
    if (sigaction(SIGTERM, &sa, nullptr) < 0 || sigaction(SIGINT, &sa, nullptr) < 0)
        perr_exit("sigaction");
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, nullptr) < 0)
        perr_exit("sigaction SIGPIPE");
    return ends[0];
    // END SOLUTION
}

void drain_wakeups(int fd)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: drain_wakeups", fd);
    char buf[64];
    for (;;) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; // EAGAIN: empty
    }
    // END SOLUTION
}

std::vector<pollfd> poll_set(const Server &server, Clock::time_point now)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: poll_set", server, now);
    std::vector<pollfd> polled;
    polled.reserve(server.clients.size() + 2);
    polled.push_back(pollfd{server.wakeup_fd, POLLIN, 0});
    // At the cap, or while accept() has no descriptor to give, the listening
    // socket is left out: a readable listener that is never accepted from
    // would wake poll at once, again and again.
    polled.push_back(pollfd{accepting(server, now) ? server.listenfd : -1, POLLIN, 0});
    for (const Client &client : server.clients)
        polled.push_back(pollfd{client.fd, events_for(client), 0});
    return polled;
    // END SOLUTION
}

void accept_clients(Server &server)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: accept_clients", server);
    while (server.clients.size() < server.max_clients) {
        const int connfd = accept(server.listenfd, nullptr, nullptr);
        if (connfd < 0) {
            const int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK)
                return; // no client waiting any more
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                std::fprintf(stderr, "accept: %s; %zu clients served, accepting again in %d ms\n",
                             std::strerror(err), server.clients.size(), kAcceptRetryMs);
                server.accept_paused_until =
                    Clock::now() + std::chrono::milliseconds(kAcceptRetryMs);
                return;
            }
            if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM ||
                err == ENETDOWN || err == ENETUNREACH || err == EHOSTDOWN || err == EHOSTUNREACH ||
                err == ENONET || err == ENOPROTOOPT || err == EOPNOTSUPP)
                continue; // that connection failed before we took it
            perr_exit("accept");
        }
        set_nonblocking(connfd);
        server.clients.push_back(Client{connfd, {}, false});
        ++server.served;
        server.most_at_once = std::max(server.most_at_once, server.clients.size());
        if (server.clients.size() == server.max_clients)
            std::printf("at the cap: %zu clients; not accepting until one leaves\n",
                        server.clients.size());
    }
    // END SOLUTION
}

void serve_clients(Server &server, const std::vector<pollfd> &polled)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: serve_clients", server, polled);
    std::vector<Client> kept;
    kept.reserve(server.clients.size());
    for (std::size_t i = 0; i < server.clients.size(); ++i) {
        Client &client = server.clients[i];
        const short revents = i + 2 < polled.size() ? polled[i + 2].revents : 0;
        bool ok = true;
        if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !client.read_closed &&
            client.unsent.size() < kMaxPending)
            ok = read_from(client);
        if (ok && revents != 0 && !client.unsent.empty())
            ok = flush_to(client);
        if (!ok || finished(client))
            Close(client.fd);
        else
            kept.push_back(std::move(client));
    }
    server.clients = std::move(kept);
    // END SOLUTION
}

void begin_stop(Server &server, Clock::time_point now)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: begin_stop", server, now);
    Close(server.listenfd);
    server.listenfd = -1;
    server.stop_deadline = now + std::chrono::seconds(kGraceSeconds);
    std::printf("%s: stopping; %zu clients connected, %d s of grace\n", strsignal(g_stop_signal),
                server.clients.size(), kGraceSeconds);
    // END SOLUTION
}

int poll_timeout(const Server &server, Clock::time_point now)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: poll_timeout", server, now);
    Clock::time_point deadline = Clock::time_point::max();
    if (server.listenfd < 0)
        deadline = server.stop_deadline;
    else if (now < server.accept_paused_until)
        deadline = server.accept_paused_until;
    if (deadline == Clock::time_point::max())
        return -1;
    if (deadline <= now)
        return 0;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    return static_cast<int>(left.count());
    // END SOLUTION
}

void run(Server &server)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: run", server);
    for (;;) {
        const Clock::time_point now = Clock::now();
        if (server.listenfd < 0 && (server.clients.empty() || now >= server.stop_deadline))
            break;
        std::vector<pollfd> polled = poll_set(server, now);
        if (poll(polled.data(), polled.size(), poll_timeout(server, now)) < 0) {
            if (errno == EINTR)
                continue; // a signal: its byte is in the pipe
            perr_exit("poll");
        }
        if ((polled[0].revents & POLLIN) != 0) {
            drain_wakeups(server.wakeup_fd);
            if (g_stop_signal != 0 && server.listenfd >= 0)
                begin_stop(server, Clock::now());
        }
        if (server.listenfd >= 0 && (polled[1].revents & POLLIN) != 0)
            accept_clients(server);
        serve_clients(server, polled);
    }
    server.cut_off = server.clients.size();
    for (const Client &client : server.clients)
        Close(client.fd);
    server.clients.clear();
    // END SOLUTION
}

void print_summary(const Server &server)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: print_summary", server);
    std::printf("served %lu clients, at most %zu at once, %zu cut off after the grace period\n",
                server.served, server.most_at_once, server.cut_off);
    // END SOLUTION
}

int main(int argc, char *argv[])
{
    // BEGIN SOLUTION stub: not_implemented("lab07: main", argc, argv);
    const Options options = options_from_args(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    const std::size_t descriptors = raise_descriptor_limit();
    Server server;
    server.max_clients = options.max_clients;
    server.wakeup_fd = install_stop_signals();
    server.listenfd = open_listener(options.port);
    // A blocking accept() would stop every client: accept_clients takes
    // clients until accept() says EAGAIN.
    set_nonblocking(server.listenfd);
    std::printf("Accepting connections on port %u ... (at most %zu clients at once, %zu "
                "descriptors)\n",
                unsigned{options.port}, server.max_clients, descriptors);
    if (descriptors < server.max_clients + 8)
        std::printf("note: %zu descriptors allow fewer than %zu clients; past them accept() "
                    "fails with EMFILE and waits\n",
                    descriptors, server.max_clients);
    run(server);
    print_summary(server);
    return 0;
    // END SOLUTION
}
