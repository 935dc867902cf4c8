// loadgen.cpp -- the kit's load generator: N concurrent clients against an
// uppercase-echo server, reporting operations/s, latency, errors and wrong
// replies, as a table and as JSON.
//
//   loadgen [--mode conn|persistent] [--clients N] [--duration S | --count N]
//           [--size BYTES] [--timeout S] [--seed N] [--json FILE] [--quiet] HOST:PORT
//
// An operation is one request line sent and its reply read in full and
// checked byte for byte against the uppercase of the request.  In `conn` mode
// every operation opens its own connection and closes it afterwards (what a
// fork-per-connection server pays a fork for); in `persistent` mode each
// client connects once and then does round trips on that connection.
//
// One thread drives every client through non-blocking sockets and epoll: the
// generator stays a single process whatever N is, so the processes the
// machine schedules are the server's.  Every connect and every reply has a
// deadline (--timeout), so a server that stops answering shows up as errors,
// never as a hang.  Exit status: 0 when every operation succeeded, 1 when
// some failed or a reply was wrong, 2 on bad arguments.
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <random>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

enum class Mode { conn, persistent };

struct Options {
    std::string target; // HOST:PORT as given, for the report
    sockaddr_in server{};
    Mode mode = Mode::conn;
    int clients = 1;
    double duration_s = 5;
    long long count = 0; // 0: bounded by duration_s instead
    std::size_t size = 64;
    double timeout_s = 5;
    std::uint64_t seed = 1;
    std::string json_path;
    bool quiet = false;
};

[[noreturn]] void usage_error(const std::string &message)
{
    std::fprintf(
        stderr,
        "loadgen: %s\n"
        "usage: loadgen [--mode conn|persistent] [--clients N] [--duration S | --count N]\n"
        "               [--size BYTES] [--timeout S] [--seed N] [--json FILE] [--quiet]\n"
        "               HOST:PORT\n"
        "  conn: a connection per request; persistent: N connections, round trips\n",
        message.c_str());
    std::exit(2);
}

// The integer in text, which must lie in [lo, hi]; usage error otherwise.
long long parse_integer(const char *flag, const char *text, long long lo, long long hi)
{
    char *end = nullptr;
    errno = 0;
    const long long value = std::strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < lo || value > hi)
        usage_error(std::string(flag) + " wants an integer from " + std::to_string(lo) + " to " +
                    std::to_string(hi) + ", not '" + text + "'");
    return value;
}

// The number of seconds in text, which must lie in (0, hi]; usage error otherwise.
double parse_seconds(const char *flag, const char *text, double hi)
{
    char *end = nullptr;
    errno = 0;
    const double value = std::strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(value > 0) || value > hi)
        usage_error(std::string(flag) + " wants seconds, more than 0 and at most " +
                    std::to_string(static_cast<int>(hi)) + ", not '" + text + "'");
    return value;
}

// "127.0.0.1:9877" into opt.server; usage error when it is not IPv4:PORT.
void parse_target(const char *text, Options &opt)
{
    const std::string target(text);
    const std::size_t colon = target.rfind(':');
    if (colon == std::string::npos)
        usage_error("the server must be given as HOST:PORT, e.g. 127.0.0.1:9877, not '" + target +
                    "'");
    const std::string host = target.substr(0, colon);
    opt.server.sin_family = AF_INET;
    // inet_pton returns 0, not -1, for a malformed address.
    if (inet_pton(AF_INET, host.c_str(), &opt.server.sin_addr) != 1)
        usage_error("HOST must be an IPv4 address such as 127.0.0.1, not '" + host + "'");
    const long long port = parse_integer("PORT", target.c_str() + colon + 1, 1, 65535);
    opt.server.sin_port = htons(static_cast<std::uint16_t>(port));
    opt.target = target;
}

// The value after flag argv[i]; usage error when there is none.
const char *flag_value(int argc, char **argv, int &i)
{
    if (i + 1 >= argc)
        usage_error(std::string(argv[i]) + " needs a value");
    return argv[++i];
}

// Apply one "--flag value" option; false if argv[i] is not a known flag.
bool parse_flag(int argc, char **argv, int &i, Options &opt, bool &saw_duration)
{
    const std::string flag = argv[i];
    if (flag == "--quiet") {
        opt.quiet = true;
        return true;
    }
    if (flag != "--mode" && flag != "--clients" && flag != "--duration" && flag != "--count" &&
        flag != "--size" && flag != "--timeout" && flag != "--seed" && flag != "--json")
        return false;
    const char *value = flag_value(argc, argv, i);
    if (flag == "--mode") {
        if (std::strcmp(value, "conn") != 0 && std::strcmp(value, "persistent") != 0)
            usage_error(std::string("--mode is conn or persistent, not '") + value + "'");
        opt.mode = std::strcmp(value, "conn") == 0 ? Mode::conn : Mode::persistent;
    } else if (flag == "--clients") {
        opt.clients = static_cast<int>(parse_integer("--clients", value, 1, 20000));
    } else if (flag == "--duration") {
        opt.duration_s = parse_seconds("--duration", value, 3600);
        saw_duration = true;
    } else if (flag == "--count") {
        opt.count = parse_integer("--count", value, 1, 1000000000);
    } else if (flag == "--size") {
        opt.size = static_cast<std::size_t>(parse_integer("--size", value, 1, 16 << 20));
    } else if (flag == "--timeout") {
        opt.timeout_s = parse_seconds("--timeout", value, 600);
    } else if (flag == "--seed") {
        opt.seed = static_cast<std::uint64_t>(parse_integer("--seed", value, 0, INT64_MAX));
    } else {
        opt.json_path = value;
    }
    return true;
}

Options parse_options(int argc, char **argv)
{
    Options opt;
    bool saw_duration = false;
    bool saw_target = false;
    for (int i = 1; i < argc; ++i) {
        if (parse_flag(argc, argv, i, opt, saw_duration))
            continue;
        if (argv[i][0] == '-')
            usage_error(std::string("unknown option '") + argv[i] + "'");
        if (saw_target)
            usage_error(std::string("one server only; extra argument '") + argv[i] + "'");
        parse_target(argv[i], opt);
        saw_target = true;
    }
    if (!saw_target)
        usage_error("no server given");
    if (saw_duration && opt.count > 0)
        usage_error("give --duration or --count, not both");
    return opt;
}

std::int64_t now_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::int64_t seconds_to_ns(double s)
{
    return static_cast<std::int64_t>(s * 1e9);
}

// The protocol: a-z become A-Z, every other byte comes back unchanged.
unsigned char uppercase(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

// Ready-made requests and the replies they must get.  Every request is
// opt.size bytes: random printable and non-ASCII bytes, then '\n', so a
// server that treats bytes as signed chars or as C strings gets caught.
struct Requests {
    std::vector<std::string> lines;
    std::vector<std::string> replies;
};

Requests make_requests(std::size_t size, std::mt19937_64 &rng)
{
    // A few different requests, so that a server cannot pass by replaying
    // one reply; at most 4 MB of them, for --size up to 16 MB.
    constexpr std::size_t kPoolBytes = 4 << 20;
    const std::size_t how_many = std::clamp<std::size_t>(kPoolBytes / size, 1, 64);
    std::uniform_int_distribution<int> pick(0, 95 + 128 - 1);
    Requests requests;
    for (std::size_t r = 0; r < how_many; ++r) {
        std::string line(size, '\n');
        for (std::size_t i = 0; i + 1 < size; ++i) {
            const int k = pick(rng); // 0..94 printable from ' ', 95.. bytes 0x80..0xff
            line[i] = static_cast<char>(k < 95 ? ' ' + k : 0x80 + (k - 95));
        }
        std::string reply(line);
        for (char &c : reply)
            c = static_cast<char>(uppercase(static_cast<unsigned char>(c)));
        requests.lines.push_back(std::move(line));
        requests.replies.push_back(std::move(reply));
    }
    return requests;
}

enum class Phase { idle, connecting, ready, exchanging };

struct Client {
    int fd = -1;
    Phase phase = Phase::idle;
    bool registered = false;    // fd is in the epoll set
    std::uint32_t watching = 0; // the events it is registered for
    std::size_t request = 0;    // index into Requests
    std::size_t sent = 0;
    std::size_t received = 0;
    bool wrong = false; // a reply byte differed from the expected one
    std::int64_t started_ns = 0;
    std::int64_t deadline_ns = 0;
};

struct Results {
    std::vector<std::int64_t> latencies_ns;
    long long ops = 0;                       // operations with a correct, complete reply
    long long ops_in_window = 0;             // of those, finished before the duration ran out
    long long mismatches = 0;                // complete replies that differed from the expected one
    long long connections = 0;               // connections established
    std::map<std::string, long long> errors; // "what failed: why" -> how often
    double setup_s = 0;                      // persistent mode: time to connect every client
    double elapsed_s = 0;                    // the measured window
};

long long error_total(const Results &results)
{
    long long total = 0;
    for (const auto &[what, n] : results.errors)
        total += n;
    return total;
}

// The load generator's state: one epoll set, the clients, the counters.
class Generator {
  public:
    Generator(const Options &opt, Requests requests)
        : opt_(opt), requests_(std::move(requests)), rng_(opt.seed),
          clients_(static_cast<std::size_t>(opt.clients))
    {}

    // Run the whole measurement; returns what was measured.
    Results run();

  private:
    void connect_all_then_wait();
    void start_window();
    void event_loop();
    void restart_failed();
    void handle_event(Client &c, std::uint32_t events);
    void begin_connection(Client &c);
    void connection_completed(Client &c);
    void begin_request(Client &c);
    void send_some(Client &c);
    void receive_some(Client &c);
    void operation_completed(Client &c);
    void fail(Client &c, const std::string &what, int err);
    void next_operation(Client &c);
    void close_client(Client &c);
    void watch(Client &c, std::uint32_t events);
    void expire_deadlines(std::int64_t now);
    bool may_start_operation(std::int64_t now) const;
    bool any_busy() const;
    int wait_timeout_ms(std::int64_t now) const;

    const Options &opt_;
    const Requests requests_;
    std::mt19937_64 rng_;
    std::vector<Client> clients_;
    Results results_;
    int epfd_ = -1;
    long long started_ops_ = 0;
    std::int64_t window_start_ns_ = 0;
    std::int64_t window_end_ns_ = INT64_MAX;
    bool window_open_ = false;
    std::vector<std::size_t> to_restart_; // conn mode: clients whose operation failed
};

Results Generator::run()
{
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) {
        std::perror("loadgen: epoll_create1");
        std::exit(1);
    }
    if (opt_.mode == Mode::persistent)
        connect_all_then_wait();
    start_window();
    event_loop();
    const std::int64_t end = opt_.count > 0 ? now_ns() : window_end_ns_;
    results_.elapsed_s = static_cast<double>(end - window_start_ns_) / 1e9;
    for (Client &c : clients_)
        close_client(c);
    close(epfd_);
    return results_;
}

// Persistent mode measures round trips, not connection set-up: connect every
// client first (each with its deadline), then open the window.
void Generator::connect_all_then_wait()
{
    const std::int64_t start = now_ns();
    for (Client &c : clients_)
        begin_connection(c);
    event_loop();
    results_.setup_s = static_cast<double>(now_ns() - start) / 1e9;
}

void Generator::start_window()
{
    window_start_ns_ = now_ns();
    if (opt_.count == 0)
        window_end_ns_ = window_start_ns_ + seconds_to_ns(opt_.duration_s);
    window_open_ = true;
    for (Client &c : clients_) {
        if (!may_start_operation(window_start_ns_))
            close_client(c); // --count smaller than --clients: this one is not needed
        else if (opt_.mode == Mode::conn)
            begin_connection(c);
        else if (c.phase == Phase::ready)
            begin_request(c);
    }
}

// Dispatch socket events until no client is busy: connecting, exchanging,
// or waiting to start again after a failure.
void Generator::event_loop()
{
    constexpr int kMaxEvents = 256;
    epoll_event events[kMaxEvents];
    for (;;) {
        const std::int64_t now = now_ns();
        expire_deadlines(now);
        restart_failed();
        if (!any_busy())
            return;
        const int n = epoll_wait(epfd_, events, kMaxEvents, wait_timeout_ms(now));
        if (n < 0 && errno != EINTR) {
            std::perror("loadgen: epoll_wait");
            std::exit(1);
        }
        for (int i = 0; i < n; ++i)
            handle_event(clients_[events[i].data.u32], events[i].events);
    }
}

// Start the next connection of the clients whose operation failed.  Done
// here, not in fail(): a connect refused at once would otherwise recurse.
void Generator::restart_failed()
{
    std::vector<std::size_t> failed;
    failed.swap(to_restart_);
    for (const std::size_t i : failed)
        next_operation(clients_[i]);
}

void Generator::handle_event(Client &c, std::uint32_t events)
{
    if (c.phase == Phase::connecting) {
        connection_completed(c);
        return;
    }
    if (c.phase != Phase::exchanging)
        return;
    // EPOLLERR and EPOLLHUP are reported through the read: it returns the
    // error, or 0 at end of file.
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        receive_some(c);
    if (c.phase == Phase::exchanging && (events & EPOLLOUT))
        send_some(c);
}

void Generator::begin_connection(Client &c)
{
    const std::int64_t now = now_ns();
    if (opt_.mode == Mode::conn)
        ++started_ops_;
    c.started_ns = now;
    c.deadline_ns = now + seconds_to_ns(opt_.timeout_s);
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        fail(c, "socket", errno);
        return;
    }
    c.phase = Phase::connecting;
    // Requests are small and each waits for its reply: without TCP_NODELAY,
    // Nagle's algorithm would hold a request back behind an unacknowledged one.
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const auto *sa = reinterpret_cast<const sockaddr *>(&opt_.server);
    if (connect(c.fd, sa, sizeof opt_.server) == 0) {
        connection_completed(c);
        return;
    }
    if (errno != EINPROGRESS) {
        fail(c, "connect", errno);
        return;
    }
    watch(c, EPOLLOUT);
}

// The connect finished, for better or worse: SO_ERROR says which.
void Generator::connection_completed(Client &c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err != 0) {
        fail(c, "connect", err);
        return;
    }
    ++results_.connections;
    if (opt_.mode == Mode::conn) {
        begin_request(c);
        return;
    }
    c.phase = Phase::ready;
    watch(c, 0);
    if (window_open_)
        begin_request(c);
}

void Generator::begin_request(Client &c)
{
    const std::int64_t now = now_ns();
    if (opt_.mode == Mode::persistent) {
        ++started_ops_;
        c.started_ns = now;
    }
    c.phase = Phase::exchanging;
    c.deadline_ns = now + seconds_to_ns(opt_.timeout_s);
    c.request = static_cast<std::size_t>(rng_() % requests_.lines.size());
    c.sent = 0;
    c.received = 0;
    c.wrong = false;
    send_some(c);
}

// Send what the socket takes now; watch for room while some is left.  The
// client reads while it still sends: with a long request, a server echoing
// the start of it would otherwise block on a full socket buffer, then stop
// reading, and both sides would wait forever.
void Generator::send_some(Client &c)
{
    const std::string &line = requests_.lines[c.request];
    while (c.sent < line.size()) {
        // MSG_NOSIGNAL: a server that has gone gives EPIPE, not a fatal SIGPIPE.
        const ssize_t n = send(c.fd, line.data() + c.sent, line.size() - c.sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            fail(c, "send", errno);
            return;
        }
        c.sent += static_cast<std::size_t>(n);
    }
    watch(c, c.sent < line.size() ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

// Read what has arrived, at most up to the end of this reply, and compare it
// with the expected bytes as it comes.
void Generator::receive_some(Client &c)
{
    const std::string &expected = requests_.replies[c.request];
    char buf[64 * 1024];
    while (c.received < expected.size()) {
        const std::size_t want = std::min(sizeof buf, expected.size() - c.received);
        const ssize_t n = recv(c.fd, buf, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            fail(c, n == 0 ? "reply cut short: the server closed the connection" : "recv",
                 n == 0 ? 0 : errno);
            return;
        }
        if (std::memcmp(buf, expected.data() + c.received, static_cast<std::size_t>(n)) != 0)
            c.wrong = true;
        c.received += static_cast<std::size_t>(n);
    }
    operation_completed(c);
}

void Generator::operation_completed(Client &c)
{
    const std::int64_t now = now_ns();
    if (c.wrong) {
        ++results_.mismatches;
    } else {
        ++results_.ops;
        if (now <= window_end_ns_)
            ++results_.ops_in_window;
        results_.latencies_ns.push_back(now - c.started_ns);
    }
    next_operation(c);
}

// Count a failed operation under "what: strerror(err)" and move on.  In
// persistent mode the client gives up: its connection is the thing measured.
void Generator::fail(Client &c, const std::string &what, int err)
{
    ++results_.errors[err == 0 ? what : what + ": " + std::strerror(err)];
    close_client(c);
    if (opt_.mode == Mode::conn && window_open_)
        to_restart_.push_back(static_cast<std::size_t>(&c - clients_.data()));
}

void Generator::next_operation(Client &c)
{
    const bool more = may_start_operation(now_ns());
    if (opt_.mode == Mode::persistent && more) {
        begin_request(c);
        return;
    }
    close_client(c);
    if (more)
        begin_connection(c);
}

void Generator::close_client(Client &c)
{
    if (c.fd >= 0)
        close(c.fd);
    c.fd = -1;
    c.registered = false;
    c.watching = 0;
    c.phase = Phase::idle;
}

// Register fd for exactly these events, with one system call only when
// they change.
void Generator::watch(Client &c, std::uint32_t events)
{
    if (c.registered && c.watching == events)
        return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u32 = static_cast<std::uint32_t>(&c - clients_.data());
    if (epoll_ctl(epfd_, c.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c.fd, &ev) < 0) {
        std::perror("loadgen: epoll_ctl");
        std::exit(1);
    }
    c.registered = true;
    c.watching = events;
}

void Generator::expire_deadlines(std::int64_t now)
{
    for (Client &c : clients_) {
        if ((c.phase == Phase::connecting || c.phase == Phase::exchanging) &&
            now >= c.deadline_ns) {
            const bool connecting = c.phase == Phase::connecting;
            fail(c,
                 connecting ? "connect: no answer within --timeout"
                            : "reply: incomplete after --timeout",
                 0);
        }
    }
}

bool Generator::may_start_operation(std::int64_t now) const
{
    if (opt_.count > 0)
        return started_ops_ < opt_.count;
    return now < window_end_ns_;
}

bool Generator::any_busy() const
{
    if (!to_restart_.empty())
        return true;
    return std::any_of(clients_.begin(), clients_.end(), [](const Client &c) {
        return c.phase == Phase::connecting || c.phase == Phase::exchanging;
    });
}

// Wake up at least every few milliseconds: deadlines are checked between
// waits, and the window must close on time even when no reply comes.
int Generator::wait_timeout_ms(std::int64_t now) const
{
    constexpr int kTickMs = 5;
    if (!to_restart_.empty())
        return 0;
    if (now >= window_end_ns_)
        return kTickMs;
    const std::int64_t to_end_ms = (window_end_ns_ - now + 999999) / 1000000;
    return static_cast<int>(std::min<std::int64_t>(kTickMs, to_end_ms));
}

// A descriptor per client plus a few: raise the soft limit when needed.
void ensure_descriptors(int clients)
{
    rlimit rl{};
    const rlim_t need = static_cast<rlim_t>(clients) + 16;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
        rl.rlim_cur = std::min(need, rl.rlim_max);
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need)
        usage_error(std::to_string(clients) + " clients need " + std::to_string(need) +
                    " descriptors, the limit is " + std::to_string(rl.rlim_cur) + " (ulimit -n)");
}

// The latency at quantile q (0..1) of sorted samples, in microseconds
// (nearest rank); 0 with no samples.
double percentile_us(const std::vector<std::int64_t> &sorted, double q)
{
    if (sorted.empty())
        return 0;
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    return static_cast<double>(sorted[std::max<std::size_t>(rank, 1) - 1]) / 1e3;
}

struct Summary {
    double ops_per_s = 0;
    double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0, mean_us = 0;
};

Summary summarise(Results &results, const Options &opt)
{
    std::vector<std::int64_t> &lat = results.latencies_ns;
    std::sort(lat.begin(), lat.end());
    Summary s;
    const long long counted = opt.count > 0 ? results.ops : results.ops_in_window;
    s.ops_per_s = results.elapsed_s > 0 ? static_cast<double>(counted) / results.elapsed_s : 0;
    s.p50_us = percentile_us(lat, 0.50);
    s.p90_us = percentile_us(lat, 0.90);
    s.p99_us = percentile_us(lat, 0.99);
    s.max_us = percentile_us(lat, 1.0);
    double total = 0;
    for (std::int64_t ns : lat)
        total += static_cast<double>(ns);
    s.mean_us = lat.empty() ? 0 : total / static_cast<double>(lat.size()) / 1e3;
    return s;
}

const char *mode_name(Mode mode)
{
    return mode == Mode::conn ? "conn" : "persistent";
}

void print_table(const Options &opt, const Results &r, const Summary &s)
{
    std::printf("loadgen %s: %s mode, %d client%s, %zu-byte requests, %.2f s\n", opt.target.c_str(),
                mode_name(opt.mode), opt.clients, opt.clients == 1 ? "" : "s", opt.size,
                r.elapsed_s);
    if (opt.mode == Mode::persistent)
        std::printf("  %-12s %.3f s to connect %d client%s\n", "set-up", r.setup_s, opt.clients,
                    opt.clients == 1 ? "" : "s");
    std::printf("  %-12s %lld  (%.1f/s)\n", "operations", r.ops, s.ops_per_s);
    std::printf("  %-12s p50 %.0f  p90 %.0f  p99 %.0f  max %.0f  mean %.0f\n", "latency (us)",
                s.p50_us, s.p90_us, s.p99_us, s.max_us, s.mean_us);
    std::printf("  %-12s %lld\n", "errors", error_total(r));
    for (const auto &[what, n] : r.errors)
        std::printf("  %12s %lld x %s\n", "", n, what.c_str());
    std::printf("  %-12s %lld\n", "mismatches", r.mismatches);
}

// text as a JSON string literal.
std::string json_string(const std::string &text)
{
    std::string out = "\"";
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", c);
            out += esc;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

std::string json_errors(const Results &r)
{
    std::string out = "{";
    for (const auto &[what, n] : r.errors) {
        if (out.size() > 1)
            out += ", ";
        out += json_string(what) + ": " + std::to_string(n);
    }
    return out + "}";
}

// Open the JSON report before the run, so that a bad path does not waste it.
std::FILE *open_report(const std::string &path)
{
    if (path.empty())
        return nullptr;
    std::FILE *out = std::fopen(path.c_str(), "w");
    if (out == nullptr) {
        std::fprintf(stderr, "loadgen: --json %s: %s\n", path.c_str(), std::strerror(errno));
        std::exit(2);
    }
    return out;
}

void write_json(std::FILE *out, const Options &opt, const Results &r, const Summary &s)
{
    std::fprintf(out,
                 "{\"target\": %s, \"mode\": \"%s\", \"clients\": %d, \"size\": %zu,\n"
                 " \"bound\": \"%s\", \"elapsed_s\": %.6f, \"setup_s\": %.6f,\n"
                 " \"ops\": %lld, \"ops_per_s\": %.3f, \"connections\": %lld,\n"
                 " \"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, "
                 "\"max\": %.1f, \"mean\": %.1f},\n"
                 " \"errors\": %lld, \"error_kinds\": %s, \"mismatches\": %lld}\n",
                 json_string(opt.target).c_str(), mode_name(opt.mode), opt.clients, opt.size,
                 opt.count > 0 ? "count" : "duration", r.elapsed_s, r.setup_s, r.ops, s.ops_per_s,
                 r.connections, s.p50_us, s.p90_us, s.p99_us, s.max_us, s.mean_us, error_total(r),
                 json_errors(r).c_str(), r.mismatches);
    if (std::fclose(out) != 0) {
        std::fprintf(stderr, "loadgen: %s: %s\n", opt.json_path.c_str(), std::strerror(errno));
        std::exit(1);
    }
}

} // namespace

int main(int argc, char **argv)
{
    const Options opt = parse_options(argc, argv);
    ensure_descriptors(opt.clients);
    std::FILE *report = open_report(opt.json_path);
    std::mt19937_64 rng(opt.seed);
    Generator generator(opt, make_requests(opt.size, rng));
    Results results = generator.run();
    const Summary summary = summarise(results, opt);
    if (!opt.quiet)
        print_table(opt, results, summary);
    if (report != nullptr)
        write_json(report, opt, results, summary);
    return error_total(results) == 0 && results.mismatches == 0 ? 0 : 1;
}
