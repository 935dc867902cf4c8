// test_server.cpp -- lab07's unit tests (doctest): `make test`.
//
// Each function of server.h on its own.  The faults a non-blocking server
// must survive are injected with lab01's fakesys.h (the test binary wraps
// read, write and accept): a write that takes 3 bytes at a time, EINTR,
// EAGAIN, EMFILE.  Every case that changes signals or limits runs in a
// child (testing::run_in_child).  One case:
//   build/g++/test_server --test-case='flush_to*'
#include "server.h"

#include "fakesys.h"
#include "testing.h"
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// argv for a command line given as words (argv[0] is "server").
struct Args {
    explicit Args(std::vector<std::string> words) : words_(std::move(words))
    {
        words_.insert(words_.begin(), "server");
        for (auto &word : words_)
            argv_.push_back(word.data());
        argv_.push_back(nullptr);
    }
    int argc() const { return static_cast<int>(words_.size()); }
    char **argv() { return argv_.data(); }

  private:
    std::vector<std::string> words_;
    std::vector<char *> argv_;
};

bool is_nonblocking(int fd)
{
    const int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && (flags & O_NONBLOCK) != 0;
}

bool contains(const std::string &text, const std::string &part)
{
    return text.find(part) != std::string::npos;
}

// A connected pair whose server end is non-blocking, as accept_clients
// leaves it, wrapped in a Client.
struct ClientPair {
    testing::Connection connection;
    Client client;

    ClientPair()
    {
        const int flags = fcntl(connection.server, F_GETFL);
        fcntl(connection.server, F_SETFL, flags | O_NONBLOCK);
        client.fd = connection.server;
    }
};

// Read from fd until n bytes came (or 5 s passed).
std::string read_exactly(int fd, std::size_t n)
{
    return testing::read_up_to(fd, n, std::chrono::seconds(5));
}

bool readable(int fd)
{
    pollfd pfd{fd, POLLIN, 0};
    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN) != 0;
}

} // namespace

// ------------------------------------------------------------ the command line

TEST_CASE("options_from_args: the defaults, -c and a port")
{
    const std::vector<std::string> lines[] = {
        {}, {"7000"}, {"-c", "3"}, {"-c", "65536", "65535"}, {"-c1", "1"}};
    const char *expected[] = {"6666 1024\n", "7000 1024\n", "6666 3\n", "65535 65536\n", "1 1\n"};
    for (std::size_t i = 0; i < 5; ++i) {
        CAPTURE(i);
        const auto r = testing::run_in_child([&] {
            Args args(lines[i]);
            const Options o = options_from_args(args.argc(), args.argv());
            std::printf("%u %zu\n", unsigned{o.port}, o.max_clients);
        });
        CHECK(r.exit_status == 0);
        CHECK(r.out == expected[i]);
    }
}

TEST_CASE("options_from_args: bad options print a usage message and exit 2")
{
    const std::vector<std::string> bad[] = {{"-c", "0"}, {"-c", "x"}, {"-c", "65537"}, {"-c"},
                                            {"-c", ""},  {"-x"},      {"0"},           {"65536"},
                                            {"80x"},     {"1", "2"},  {"-c", "4x"},    {""}};
    for (const auto &words : bad) {
        std::string shown;
        for (const auto &word : words)
            shown += " '" + word + "'";
        CAPTURE(shown);
        const auto r = testing::run_in_child([&] {
            Args args(words);
            options_from_args(args.argc(), args.argv());
        });
        CHECK(r.exit_status == kUsageStatus);
        CHECK(contains(r.err, "usage"));
    }
}

// ---------------------------------------------------------- descriptors

TEST_CASE("set_nonblocking: sets O_NONBLOCK and keeps the other flags")
{
    const int fd = open("/dev/null", O_WRONLY | O_APPEND);
    REQUIRE(fd >= 0);
    set_nonblocking(fd);
    const int flags = fcntl(fd, F_GETFL);
    CHECK((flags & O_NONBLOCK) != 0);
    CHECK((flags & O_APPEND) != 0);
    close(fd);
}

TEST_CASE("open_listener: a socket listening on the port")
{
    const auto r = testing::run_in_child([] {
        const std::uint16_t port = testing::unused_port();
        const int listenfd = open_listener(port);
        const int client = testing::connect_to_loopback(port);
        const int accepted = accept(listenfd, nullptr, nullptr);
        std::printf("connected: %s, accepted: %s\n", client >= 0 ? "yes" : "no",
                    accepted >= 0 ? "yes" : "no");
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "connected: yes, accepted: yes\n");
}

TEST_CASE("raise_descriptor_limit: the soft limit goes up to the hard one")
{
    const auto r = testing::run_in_child([] {
        rlimit limit{};
        getrlimit(RLIMIT_NOFILE, &limit);
        const rlim_t hard = limit.rlim_max;
        limit.rlim_cur = 64;
        setrlimit(RLIMIT_NOFILE, &limit);
        const std::size_t returned = raise_descriptor_limit();
        getrlimit(RLIMIT_NOFILE, &limit);
        std::printf("soft = hard: %s, returned it: %s\n", limit.rlim_cur == hard ? "yes" : "no",
                    returned == static_cast<std::size_t>(hard) ? "yes" : "no");
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "soft = hard: yes, returned it: yes\n");
}

TEST_CASE("uppercase: a-z in uppercase, every other byte unchanged")
{
    std::string bytes = testing::all_byte_values();
    uppercase(bytes.data(), bytes.size());
    CHECK(testing::byte_difference(bytes, testing::uppercase_reply(testing::all_byte_values())) ==
          "");
}

// --------------------------------------------------------- one client's bytes

TEST_CASE("events_for: POLLIN until kMaxPending bytes are owed, POLLOUT while any are")
{
    Client client;
    CHECK(events_for(client) == POLLIN);
    client.unsent = "abc";
    CHECK(events_for(client) == (POLLIN | POLLOUT));
    client.unsent.assign(kMaxPending - 1, 'x');
    CHECK(events_for(client) == (POLLIN | POLLOUT));
    client.unsent.assign(kMaxPending, 'x');
    CHECK(events_for(client) == POLLOUT);
    client.unsent.assign(kMaxPending - 1, 'x'); // drained a little: read again
    CHECK(events_for(client) == (POLLIN | POLLOUT));
    client.read_closed = true;
    CHECK(events_for(client) == POLLOUT);
    client.unsent.clear();
    CHECK(events_for(client) == 0);
}

TEST_CASE("read_from: appends the uppercase of what came; EINTR and EAGAIN are no error")
{
    ClientPair pair;
    Client &client = pair.client;
    CHECK(read_from(client)); // nothing sent yet: EAGAIN
    CHECK(client.unsent == "");
    REQUIRE(testing::write_all(pair.connection.client, "hello, \xe9t\xe9!"));
    {
        fakesys::Scope interrupted(fakesys::Call::read,
                                   {client.fd, 1, EINTR, false, 0}); // the first read: EINTR
        CHECK(read_from(client));
        CHECK(client.unsent == "");
        CHECK(read_from(client));
    }
    CHECK(client.unsent == "HELLO, \xe9T\xe9!");
    CHECK_FALSE(client.read_closed);
    REQUIRE(testing::write_all(pair.connection.client, "more"));
    testing::wait_until([&] { return readable(client.fd); });
    CHECK(read_from(client));
    CHECK(client.unsent == "HELLO, \xe9T\xe9!MORE");
}

TEST_CASE("read_from: end of file sets read_closed; a reset is a failure")
{
    ClientPair pair;
    shutdown(pair.connection.client, SHUT_WR);
    testing::wait_until([&] { return readable(pair.client.fd); });
    CHECK(read_from(pair.client));
    CHECK(pair.client.read_closed);

    ClientPair reset;
    REQUIRE(testing::write_all(reset.connection.server, "unread")); // so that close resets
    testing::wait_until([&] { return readable(reset.connection.client); });
    testing::close_with_reset(reset.connection.client);
    reset.connection.client = -1;
    testing::wait_until([&] { return readable(reset.client.fd); });
    CHECK_FALSE(read_from(reset.client));
}

TEST_CASE("flush_to: partial writes send everything, in order")
{
    ClientPair pair;
    Client &client = pair.client;
    std::string owed;
    for (int i = 0; i < 1000; ++i)
        owed += "line " + std::to_string(i) + "\n";
    client.unsent = owed;
    fakesys::Scope few(fakesys::Call::write, {client.fd, 0, 0, false, 3}); // 3 bytes a write
    int rounds = 0;
    while (!client.unsent.empty() && rounds++ < 100000)
        REQUIRE(flush_to(client));
    CHECK(testing::byte_difference(read_exactly(pair.connection.client, owed.size()), owed) == "");
}

TEST_CASE("flush_to: EAGAIN and EINTR keep the bytes owed; a client gone is a failure")
{
    ClientPair pair;
    Client &client = pair.client;
    client.unsent = "ABC";
    {
        fakesys::Scope full(fakesys::Call::write, {client.fd, 1, EAGAIN, false, 0});
        CHECK(flush_to(client));
        CHECK(client.unsent == "ABC");
    }
    {
        fakesys::Scope interrupted(fakesys::Call::write, {client.fd, 1, EINTR, false, 0});
        CHECK(flush_to(client));
    }
    CHECK(client.unsent == "");
    CHECK(read_exactly(pair.connection.client, 3) == "ABC");

    const auto r = testing::run_in_child([] {
        testing::ScopedIgnoreSigpipe quiet;
        ClientPair gone;
        testing::close_with_reset(gone.connection.client);
        gone.connection.client = -1;
        testing::wait_until([&] { return readable(gone.client.fd); });
        gone.client.unsent = "too late";
        std::printf("flush_to: %s\n", flush_to(gone.client) ? "true" : "false");
    });
    CHECK(r.out == "flush_to: false\n");
}

TEST_CASE("finished: only once the client has closed its side and has every byte")
{
    Client client;
    CHECK_FALSE(finished(client));
    client.read_closed = true;
    client.unsent = "X";
    CHECK_FALSE(finished(client));
    client.unsent.clear();
    CHECK(finished(client));
}

// ------------------------------------------------------------------- signals

TEST_CASE("note_signal: sets g_stop_signal, writes a byte to the pipe, keeps errno")
{
    const auto r = testing::run_in_child([] {
        int ends[2];
        if (pipe2(ends, O_NONBLOCK) < 0)
            return;
        g_wakeup_fd = ends[1];
        errno = EDOM;
        note_signal(SIGTERM);
        std::printf("stop %s, byte %s, errno kept %s\n",
                    g_stop_signal == SIGTERM ? "SIGTERM" : "other",
                    readable(ends[0]) ? "yes" : "no", errno == EDOM ? "yes" : "no");
        // A full pipe: the handler must not block.
        while (write(ends[1], "x", 1) == 1) {
        }
        note_signal(SIGINT);
        std::printf("full pipe: returned, stop %s, errno kept %s\n",
                    g_stop_signal == SIGINT ? "SIGINT" : "other", errno == EAGAIN ? "yes" : "no");
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "stop SIGTERM, byte yes, errno kept yes\n"
                   "full pipe: returned, stop SIGINT, errno kept yes\n");
}

TEST_CASE("install_stop_signals: a non-blocking descriptor SIGTERM makes readable; SIGPIPE ignored")
{
    const auto r = testing::run_in_child([] {
        const int wakeups = install_stop_signals();
        std::printf("non-blocking: %s, close-on-exec: %s, readable before: %s\n",
                    is_nonblocking(wakeups) ? "yes" : "no",
                    (fcntl(wakeups, F_GETFD) & FD_CLOEXEC) != 0 ? "yes" : "no",
                    readable(wakeups) ? "yes" : "no");
        struct sigaction sa {};
        sigaction(SIGPIPE, nullptr, &sa);
        std::printf("SIGPIPE ignored: %s\n", sa.sa_handler == SIG_IGN ? "yes" : "no");
        kill(getpid(), SIGTERM);
        kill(getpid(), SIGINT);
        std::printf("after SIGTERM and SIGINT: readable %s\n", readable(wakeups) ? "yes" : "no");
        drain_wakeups(wakeups);
        std::printf("drained: %s, stop: %s\n", readable(wakeups) ? "no" : "yes",
                    g_stop_signal == SIGTERM || g_stop_signal == SIGINT ? "set" : "not set");
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "non-blocking: yes, close-on-exec: yes, readable before: no\n"
                   "SIGPIPE ignored: yes\nafter SIGTERM and SIGINT: readable yes\n"
                   "drained: yes, stop: set\n");
}

// ------------------------------------------------------------------ the loop

TEST_CASE("poll_set: the pipe, the listener unless at the cap, paused or stopping, the clients")
{
    Server server;
    server.wakeup_fd = 10;
    server.listenfd = 11;
    server.max_clients = 2;
    server.clients.push_back(Client{12, {}, false});
    server.clients.push_back(Client{13, "owed", true});
    const auto now = Clock::now();
    server.max_clients = 3;
    auto polled = poll_set(server, now);
    REQUIRE(polled.size() == 4);
    CHECK(polled[0].fd == 10);
    CHECK(polled[0].events == POLLIN);
    CHECK(polled[1].fd == 11);
    CHECK(polled[2].fd == 12);
    CHECK(polled[2].events == POLLIN);
    CHECK(polled[3].fd == 13);
    CHECK(polled[3].events == POLLOUT);
    server.max_clients = 2; // at the cap
    CHECK(poll_set(server, now)[1].fd < 0);
    server.max_clients = 3;
    server.accept_paused_until = now + std::chrono::milliseconds(50);
    CHECK(poll_set(server, now)[1].fd < 0);
    CHECK(poll_set(server, now + std::chrono::milliseconds(60))[1].fd == 11);
    server.listenfd = -1; // stopping
    CHECK(poll_set(server, now + std::chrono::milliseconds(60))[1].fd < 0);
}

TEST_CASE("poll_timeout: none without a deadline, else the time to it")
{
    Server server;
    server.listenfd = 3;
    const auto now = Clock::now();
    CHECK(poll_timeout(server, now) == -1);
    server.accept_paused_until = now + std::chrono::milliseconds(80);
    CHECK(poll_timeout(server, now) == 80);
    CHECK(poll_timeout(server, now + std::chrono::milliseconds(100)) == -1);
    server.listenfd = -1;
    server.stop_deadline = now + std::chrono::seconds(2);
    CHECK(poll_timeout(server, now) == 2000);
    CHECK(poll_timeout(server, now + std::chrono::seconds(3)) == 0);
}

TEST_CASE("accept_clients: every waiting client, non-blocking, up to the cap")
{
    const auto r = testing::run_in_child([] {
        const testing::Listener listener = testing::listen_on_loopback();
        set_nonblocking(listener.fd);
        for (int i = 0; i < 3; ++i)
            testing::connect_to_loopback(listener.port);
        Server server;
        server.listenfd = listener.fd;
        server.max_clients = 2;
        accept_clients(server);
        std::printf("at the cap: %zu\n", server.clients.size());
        server.max_clients = 5;
        accept_clients(server); // the third, then EAGAIN: returns
        bool nonblocking = true;
        for (const Client &client : server.clients)
            nonblocking = nonblocking && is_nonblocking(client.fd);
        std::printf("then: %zu, non-blocking: %s, served %lu, at most %zu\n", server.clients.size(),
                    nonblocking ? "yes" : "no", server.served, server.most_at_once);
    });
    CHECK(r.exit_status == 0);
    CHECK(contains(r.out, "at the cap: 2\nthen: 3, non-blocking: yes, served 3, at most 3\n"));
}

TEST_CASE("accept_clients: EMFILE pauses accepting and keeps the clients")
{
    const auto r = testing::run_in_child([] {
        const testing::Listener listener = testing::listen_on_loopback();
        set_nonblocking(listener.fd);
        testing::connect_to_loopback(listener.port);
        testing::connect_to_loopback(listener.port);
        Server server;
        server.listenfd = listener.fd;
        server.clients.push_back(Client{-1, "owed", false});
        const auto before = Clock::now();
        {
            fakesys::Scope out_of_descriptors(fakesys::Call::accept,
                                              {listener.fd, 1, EMFILE, false, 0});
            accept_clients(server);
        }
        const auto paused_for = std::chrono::duration_cast<std::chrono::milliseconds>(
            server.accept_paused_until - before);
        std::printf("kept: %zu, paused: %s\n", server.clients.size(),
                    paused_for.count() >= kAcceptRetryMs - 5 ? "yes" : "no");
        server.clients.clear();
        accept_clients(server);
        std::printf("later: %zu\n", server.clients.size());
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "kept: 1, paused: yes\nlater: 2\n");
    CHECK(contains(r.err, std::strerror(EMFILE)));
}

TEST_CASE("serve_clients: replies, keeps a half-closed client until it has every byte")
{
    const auto r = testing::run_in_child([] {
        testing::ScopedIgnoreSigpipe quiet;
        ClientPair talker;
        ClientPair leaver;
        Server server;
        server.clients = {talker.client, leaver.client};
        testing::write_all(talker.connection.client, "abc");
        testing::write_all(leaver.connection.client, "bye");
        shutdown(leaver.connection.client, SHUT_WR);
        // The leaver's socket is full for two writes: when its end of file
        // comes, it is still owed its reply.
        fakesys::Scope full(fakesys::Call::write, {leaver.client.fd, 2, EAGAIN, false, 0});
        for (int turn = 0; turn < 20 && !server.clients.empty(); ++turn) {
            std::vector<pollfd> polled = poll_set(server, Clock::now());
            poll(polled.data(), polled.size(), 1000);
            serve_clients(server, polled);
            if (server.clients.size() == 1)
                break;
        }
        std::printf("talker: %s, leaver: %s, left: %zu\n",
                    read_exactly(talker.connection.client, 3).c_str(),
                    testing::read_up_to(leaver.connection.client, 100).c_str(),
                    server.clients.size());
        talker.connection.server = -1; // closed by whoever holds it now
        leaver.connection.server = -1;
    });
    CHECK(r.exit_status == 0);
    CHECK(contains(r.out, "talker: ABC, leaver: BYE, left: 1\n"));
}

TEST_CASE("run: SIGTERM closes the listener, the clients finish within the grace")
{
    const auto r = testing::run_in_child(
        [] {
            Server server;
            server.wakeup_fd = install_stop_signals();
            const testing::Listener listener = testing::listen_on_loopback();
            set_nonblocking(listener.fd);
            server.listenfd = listener.fd;
            const int client = testing::connect_to_loopback(listener.port);
            std::thread other([&] {
                testing::write_all(client, "before");
                const std::string first = testing::read_up_to(client, 6);
                kill(getpid(), SIGTERM);
                // The stop has begun: this client is still served.
                testing::write_all(client, " after");
                shutdown(client, SHUT_WR);
                const std::string rest = testing::read_up_to(client, 100);
                std::printf("reply: %s%s\n", first.c_str(), rest.c_str());
            });
            const auto start = Clock::now();
            run(server);
            other.join();
            const bool quick = Clock::now() - start < std::chrono::seconds(kGraceSeconds);
            std::printf("returned before the grace was over: %s\n", quick ? "yes" : "no");
            const int late = socket(AF_INET, SOCK_STREAM, 0);
            const sockaddr_in to{AF_INET, htons(listener.port), {htonl(INADDR_LOOPBACK)}, {}};
            std::printf("listener closed: %s\n",
                        connect(late, reinterpret_cast<const sockaddr *>(&to), sizeof to) < 0
                            ? "yes"
                            : "no");
            print_summary(server);
        },
        std::chrono::seconds(15));
    CHECK(r.exit_status == 0);
    CHECK(contains(r.out, "reply: BEFORE AFTER\nreturned before the grace was over: yes\n"
                          "listener closed: yes\n"
                          "served 1 clients, at most 1 at once, 0 cut off after the grace "
                          "period\n"));
}
