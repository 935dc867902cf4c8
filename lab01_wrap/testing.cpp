// testing.cpp -- see testing.h.
#include "testing.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace testing {
namespace {

// A child that keeps printing may run this many times its stall limit.
constexpr int kCeilingTimes = 10;

[[noreturn]] void fail(const std::string &what)
{
    throw std::runtime_error(what + ": " + std::to_string(errno));
}

sockaddr_in loopback(std::uint16_t port)
{
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

// Drain the two pipes until both reach end of file.  The wait follows
// progress: it gives up once nothing came for `stall`, or at `ceiling`
// however steady the output.  Returns false when it gave up.
bool collect_output(int out_fd, int err_fd, ChildResult &result, std::chrono::milliseconds stall,
                    std::chrono::steady_clock::time_point ceiling)
{
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    std::string *sinks[2] = {&result.out, &result.err};
    int open_pipes = 2;
    auto deadline = std::min(std::chrono::steady_clock::now() + stall, ceiling);
    while (open_pipes > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR)
            fail("poll");
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            char buf[4096];
            const ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                sinks[i]->append(buf, static_cast<std::size_t>(n));
                deadline = std::min(std::chrono::steady_clock::now() + stall, ceiling);
            } else if (n == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open_pipes;
            }
        }
    }
    return true;
}

} // namespace

ChildResult run_in_child(const std::function<void()> &body, std::chrono::milliseconds timeout)
{
    int out_pipe[2];
    int err_pipe[2];
    if (pipe(out_pipe) < 0 || pipe(err_pipe) < 0)
        fail("pipe");
    std::fflush(nullptr); // or the child would print our buffered output again
    const pid_t pid = fork();
    if (pid < 0)
        fail("fork");
    if (pid == 0) {
        dup2(out_pipe[1], STDOUT_FILENO);
        dup2(err_pipe[1], STDERR_FILENO);
        close(out_pipe[0]);
        close(out_pipe[1]);
        close(err_pipe[0]);
        close(err_pipe[1]);
        body();
        std::fflush(nullptr);
        _exit(0);
    }
    close(out_pipe[1]);
    close(err_pipe[1]);
    ChildResult result;
    const auto ceiling = std::chrono::steady_clock::now() + kCeilingTimes * timeout;
    const bool finished = collect_output(out_pipe[0], err_pipe[0], result, timeout, ceiling);
    if (!finished) {
        kill(pid, SIGKILL);
        result.hung = true;
        // Said here, because the child's own buffered output dies with it.
        std::fprintf(stderr,
                     "[testing] the code under test was killed after %lld s %s: it hung "
                     "(blocked for ever -- a lost wakeup? a read that never returns? a "
                     "loop that never ends?); what it printed before may be missing\n",
                     static_cast<long long>(
                         std::chrono::duration_cast<std::chrono::seconds>(timeout).count()),
                     std::chrono::steady_clock::now() >= ceiling ? "at the test's ceiling"
                                                                 : "without any output");
    }
    close(out_pipe[0]);
    close(err_pipe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            fail("waitpid");
    }
    if (WIFEXITED(status))
        result.exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        result.signal = WTERMSIG(status);
    return result;
}

Listener listen_on_loopback()
{
    Listener l;
    l.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (l.fd < 0)
        fail("socket");
    sockaddr_in sa = loopback(0);
    if (bind(l.fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) < 0)
        fail("bind");
    if (listen(l.fd, 16) < 0)
        fail("listen");
    socklen_t len = sizeof sa;
    if (getsockname(l.fd, reinterpret_cast<sockaddr *>(&sa), &len) < 0)
        fail("getsockname");
    l.port = ntohs(sa.sin_port);
    return l;
}

int connect_to_loopback(std::uint16_t port)
{
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in sa = loopback(port);
    if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr *>(&sa), sizeof sa) < 0)
        fail("connect");
    return fd;
}

TcpPair tcp_pair()
{
    const Listener l = listen_on_loopback();
    TcpPair pair;
    pair.client = connect_to_loopback(l.port);
    pair.server = accept(l.fd, nullptr, nullptr);
    if (pair.server < 0)
        fail("accept");
    close(l.fd);
    return pair;
}

Connection::Connection()
{
    const TcpPair pair = tcp_pair();
    client = pair.client;
    server = pair.server;
}

Connection::~Connection()
{
    close_quietly(client);
    close_quietly(server);
}

std::uint16_t unused_port()
{
    const Listener l = listen_on_loopback();
    close(l.fd);
    return l.port;
}

void close_quietly(int fd)
{
    if (fd >= 0)
        close(fd);
}

void close_with_reset(int fd)
{
    // Lingering on, with a zero timeout: close() discards what is unsent and
    // sends a reset.
    const linger reset_on_close{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof reset_on_close);
    close(fd);
}

bool write_all(int fd, const std::string &data)
{
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

namespace {

// Wait until fd is readable; false when the deadline has passed first.
bool readable_before(int fd, std::chrono::steady_clock::time_point give_up)
{
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            give_up - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        pollfd pfd{fd, POLLIN, 0};
        const int ready = poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready > 0)
            return true;
        if (ready == 0 || errno != EINTR)
            return false;
    }
}

} // namespace

std::string read_up_to(int fd, std::size_t limit, std::chrono::milliseconds deadline)
{
    const auto give_up = std::chrono::steady_clock::now() + deadline;
    std::string data;
    char buf[8192];
    while (data.size() < limit && readable_before(fd, give_up)) {
        const ssize_t n = read(fd, buf, std::min(sizeof buf, limit - data.size()));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        data.append(buf, static_cast<std::size_t>(n));
    }
    return data;
}

bool reaches_eof(int fd, std::chrono::milliseconds deadline)
{
    const auto give_up = std::chrono::steady_clock::now() + deadline;
    char buf[8192];
    while (readable_before(fd, give_up)) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n == 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
    return false;
}

std::string uppercase_reply(std::string data)
{
    for (auto &c : data) {
        if (c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
    }
    return data;
}

namespace {

// Up to kWindow bytes of data from offset at, printable ASCII as is, any
// other byte as \xHH.
std::string window(const std::string &data, std::size_t at)
{
    constexpr std::size_t kWindow = 16;
    std::string shown;
    for (std::size_t i = at; i < data.size() && i < at + kWindow; ++i) {
        const auto byte = static_cast<unsigned char>(data[i]);
        if (byte >= 0x20 && byte < 0x7f && byte != '\\') {
            shown += static_cast<char>(byte);
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", unsigned{byte});
            shown += escaped;
        }
    }
    return '"' + shown + '"';
}

} // namespace

std::string byte_difference(const std::string &got, const std::string &expected)
{
    if (got == expected)
        return "";
    const auto mismatch = std::mismatch(got.begin(), got.end(), expected.begin(), expected.end());
    const auto at = static_cast<std::size_t>(mismatch.first - got.begin());
    const std::size_t from = at < 8 ? 0 : at - 8;
    return "got " + std::to_string(got.size()) + " bytes, expected " +
           std::to_string(expected.size()) + "; first difference at byte " + std::to_string(at) +
           ": from byte " + std::to_string(from) + " got " + window(got, from) + ", expected " +
           window(expected, from);
}

bool wait_until(const std::function<bool()> &predicate, std::chrono::milliseconds deadline)
{
    const auto give_up = std::chrono::steady_clock::now() + deadline;
    while (!predicate()) {
        if (std::chrono::steady_clock::now() >= give_up)
            return predicate();
        std::this_thread::sleep_for(std::chrono::milliseconds(1)); // polling interval
    }
    return true;
}

pid_t this_thread_id()
{
    return static_cast<pid_t>(syscall(SYS_gettid));
}

bool blocked_in_syscall(pid_t tid, long nr)
{
    // The file holds "running" while the thread runs, else the number of the
    // system call it is blocked in followed by its arguments.
    std::ifstream file("/proc/self/task/" + std::to_string(tid) + "/syscall");
    long current = -1;
    return static_cast<bool>(file >> current) && current == nr;
}

ScopedSignalHandler::ScopedSignalHandler(int signo, void (*handler)(int)) : signo_(signo)
{
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART: the interrupted call must see EINTR
    if (sigaction(signo, &sa, &previous_) < 0)
        fail("sigaction");
}

ScopedSignalHandler::~ScopedSignalHandler()
{
    sigaction(signo_, &previous_, nullptr);
}

ScopedIgnoreSigpipe::ScopedIgnoreSigpipe()
{
    struct sigaction sa {};
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, &previous_) < 0)
        fail("sigaction");
}

ScopedIgnoreSigpipe::~ScopedIgnoreSigpipe()
{
    sigaction(SIGPIPE, &previous_, nullptr);
}

std::string all_byte_values()
{
    std::string bytes;
    for (int round = 0; round < 2; ++round) {
        for (int value = 0; value < 256; ++value)
            bytes.push_back(static_cast<char>(value));
    }
    return bytes;
}

} // namespace testing
