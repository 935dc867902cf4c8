// server.h -- the functions of lab07's event-driven server: one process, many
// clients.
//
// Kit file: server.cpp (the student file) defines these, and the unit tests
// (test_server.cpp) call them one by one.  No fork, no thread: one process
// watches every socket with poll(2) and never blocks on any of them (each is
// O_NONBLOCK, fcntl(2)); what a client is owed waits in its own reply buffer
// until the socket takes it.
//
// The protocol is the earlier labs': every byte a client sends comes back, in
// order, with a-z turned into A-Z and every other byte unchanged.  There is no
// framing: a reply never waits for a newline.
#pragma once

#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <vector>

// The port without an argument.
constexpr std::uint16_t kDefaultPort = 6666;

// Exit status for a bad command line (the usual one for usage errors).
constexpr int kUsageStatus = 2;

// Bytes read from a client at a time.
constexpr std::size_t kBufferSize = 4096;

// Back-pressure: once a client's unsent reply bytes reach this many, the
// server stops reading from it (no POLLIN for it) until they drain below it
// again.  A client that sends and never reads then costs at most this much
// of the server's memory (plus one read), and its bytes wait in the kernel's
// socket buffers, then in its own: TCP's flow control slows it down.
constexpr std::size_t kMaxPending = 64 * 1024;

// Clients served at once without -c, and the largest -c accepted.  At the
// cap the server stops accepting (the listening socket leaves the poll set):
// further clients wait in the listen backlog until one leaves.
constexpr int kDefaultMaxClients = 1024;
constexpr int kMaxClientsLimit = 65536;

// Connections the kernel holds, handshake done, until accept() takes them.
constexpr int kBacklog = SOMAXCONN;

// After accept() fails with EMFILE, ENFILE, ENOBUFS or ENOMEM, the listening
// socket leaves the poll set for this long; the clients already connected
// are served meanwhile.
constexpr int kAcceptRetryMs = 100;

// After SIGTERM or SIGINT, the clients still connected get this long to
// finish; those still there then are closed.
constexpr int kGraceSeconds = 3;

// `server [-c MAX_CLIENTS] [PORT]`.
struct Options {
    std::uint16_t port = kDefaultPort;
    std::size_t max_clients = kDefaultMaxClients;
};

// The whole command line: -c from 1 to kMaxClientsLimit (checked whole),
// then at most one operand, the port, from 1 to 65535.  Anything else
// prints a usage message on stderr ("usage: server [-c MAX_CLIENTS]
// [PORT]") and exits with kUsageStatus.
Options options_from_args(int argc, char *argv[]);

// Set O_NONBLOCK on fd, keeping its other file status flags (fcntl F_GETFL,
// then F_SETFL).  Exits through perr_exit if fcntl fails.
void set_nonblocking(int fd);

// A TCP socket listening on every interface at port, with SO_REUSEADDR
// (lab02's).  Exits 1 through the wrappers on failure.  main makes it
// non-blocking (set_nonblocking).
int open_listener(std::uint16_t port);

// Raise the soft RLIMIT_NOFILE to the hard one (getrlimit, setrlimit) and
// return the soft limit now in force: the most descriptors this process
// may hold, which bounds the clients it can serve at once.
std::size_t raise_descriptor_limit();

// Uppercase buf[0..n) in place: a-z become A-Z, every other byte is unchanged.
void uppercase(char *buf, std::size_t n);

// One connected client: its non-blocking socket, the reply bytes it is owed
// and has not been sent yet (oldest first), and whether it has shut down its
// side (read returned 0: a half-close, or a close).
struct Client {
    int fd = -1;
    std::string unsent;
    bool read_closed = false;
};

// The poll events to watch for client: POLLIN while it may still send and
// its unsent bytes are fewer than kMaxPending (back-pressure), POLLOUT while
// it is owed bytes.  Never both off for a client that is not finished.
short events_for(const Client &client);

// One read (at most kBufferSize bytes) from the client: what came is
// appended to client.unsent in uppercase.  End of file sets read_closed.
// EAGAIN and EINTR read nothing and are no error.  Returns false when the
// connection failed (ECONNRESET...): the caller closes it.
bool read_from(Client &client);

// Write the client as much of client.unsent as its socket takes now (a
// write may take fewer bytes than asked, write(2), and a full non-blocking
// socket fails it with EAGAIN, send(2): the rest stays, oldest first, until
// the next POLLOUT), removing what was written.  EAGAIN and EINTR are no
// error.  Returns false when the connection failed (EPIPE, ECONNRESET...):
// the caller closes it.  SIGPIPE is ignored (install_stop_signals), or the
// write to a client that has gone would end the whole server.
bool flush_to(Client &client);

// True once the client has shut down its side and has been sent everything:
// the server may close it.  A half-closed client still owed bytes is not.
bool finished(const Client &client);

// 0 until SIGTERM or SIGINT arrives, then that signal's number.
extern volatile sig_atomic_t g_stop_signal;

// The write end of the self-pipe note_signal writes to, -1 before
// install_stop_signals.
extern int g_wakeup_fd;

// The handler of SIGTERM and SIGINT: stores the signal's number in
// g_stop_signal and writes one byte to g_wakeup_fd (non-blocking: a full pipe
// already says enough), which wakes the poll of the main loop.  Keeps errno
// as it found it.  Only async-signal-safe calls (signal-safety(7)).
void note_signal(int signo);

// The self-pipe: a pipe, both ends non-blocking and close-on-exec, its write
// end in g_wakeup_fd; then note_signal installed for SIGTERM and SIGINT, and
// SIGPIPE ignored.  Returns the read end, for the poll set: a descriptor,
// non-blocking and close-on-exec, that becomes readable when SIGTERM or
// SIGINT arrives (a signalfd(2) of the two, blocked, keeps this contract
// too).  Exits through perr_exit if a call fails.
int install_stop_signals();

// Read and discard everything waiting in the descriptor install_stop_signals
// returned, until EAGAIN.  Once a stop signal has come and this has run,
// g_stop_signal holds its number.
void drain_wakeups(int fd);

// Everything the event loop knows.
struct Server {
    int listenfd = -1;  // -1 once the stop has begun
    int wakeup_fd = -1; // the self-pipe's read end
    std::size_t max_clients = kDefaultMaxClients;
    std::vector<Client> clients;
    // accept() ran out of descriptors or memory: the listening socket stays
    // out of the poll set until then.
    std::chrono::steady_clock::time_point accept_paused_until{};
    // Set when the stop begins: the clients left are closed then.
    std::chrono::steady_clock::time_point stop_deadline{};
    unsigned long served = 0;     // clients accepted since the start
    std::size_t most_at_once = 0; // the largest size clients ever had
    std::size_t cut_off = 0;      // clients closed when the grace ran out
};

// The poll set of one turn of the loop: [0] the self-pipe, [1] the listening
// socket (its fd -1, ignored by poll, while the server is at the cap, while
// accepting is paused and after the stop), then one entry per client, in the
// order of server.clients, with events_for.
std::vector<pollfd> poll_set(const Server &server, std::chrono::steady_clock::time_point now);

// Accept every client waiting on server.listenfd, until accept() says EAGAIN
// or server.clients holds server.max_clients; each new socket is made
// non-blocking (on Linux it does not inherit O_NONBLOCK from the listener:
// accept(2)).  EMFILE, ENFILE, ENOBUFS, ENOMEM are logged on stderr and
// pause accepting for kAcceptRetryMs (accept_paused_until); an error of one
// connection (ECONNABORTED, EPROTO...) or EINTR is skipped; anything else:
// perr_exit("accept").  Updates served and most_at_once.
void accept_clients(Server &server);

// After poll: for each client (polled[2 + i] is server.clients[i]) with an
// event, read_from it on POLLIN, POLLHUP or POLLERR, then flush_to it while
// it is owed bytes; close and remove every client that failed or is
// finished.  Clients without an event are left alone.
void serve_clients(Server &server, const std::vector<pollfd> &polled);

// The stop signal has come: close the listening socket at once (new clients
// are refused; those queued in its backlog are reset) and give the clients
// still connected kGraceSeconds from now (stop_deadline).
void begin_stop(Server &server, std::chrono::steady_clock::time_point now);

// The milliseconds poll may sleep: -1 (no limit) unless a deadline is
// running -- accepting paused, or the grace period of the stop -- then the
// time to the nearest one, rounded up, at least 0.
int poll_timeout(const Server &server, std::chrono::steady_clock::time_point now);

// The loop: poll (EINTR is no error), drain the self-pipe and begin the stop
// when g_stop_signal is set, accept, serve; until, after the stop, every
// client has left or the grace period is over.  Then closes the clients
// still there (counted in cut_off).
void run(Server &server);

// Print "served N clients, at most M at once, K cut off after the grace
// period" on stdout.
void print_summary(const Server &server);
