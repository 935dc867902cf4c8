// client.h -- the pieces of lab05's client, declared for main() and the unit tests.
//
// The course note's client sends a line, makes one read() for the reply and
// stops at end of input.  This client copies stdin to the server and the
// server's replies to stdout at the same time, half-closes at end of input
// and prints every byte it is still owed: see README.md for why each piece
// exists.  You write the functions declared here in client.cpp, in the order
// of the README's steps; main() and usage() are given.
#pragma once

#include <cstdint>

// Where the client connects when the command line does not say.  6666 is
// the course note's port, shared with the servers of lab02-lab04.
constexpr const char *kDefaultHost = "127.0.0.1";
constexpr std::uint16_t kDefaultPort = 6666;

// Exit status for a command line the client cannot use.
constexpr int kUsageStatus = 2;

// Exit status when the session did not end as it should: the server left
// first, or a read or write failed.
constexpr int kFailureStatus = 1;

// The message the course note's client prints when the server closes first.
constexpr const char *kServerClosedMessage = "the other side has been closed.";

struct ServerAddress {
    const char *host; // a host name or an IPv4 address
    std::uint16_t port;
};

// Print "usage: PROGRAM [HOST [PORT]]" and what the arguments mean on
// stderr, then exit with kUsageStatus.
[[noreturn]] void usage(const char *program);

// The port number in text: decimal digits only, 1 to 65535.  Returns 0 when
// text is anything else ("", "0", "65536", "+80", " 80", "80x").
std::uint16_t parse_port(const char *text);

// `client [HOST [PORT]]`: the server to connect to, with the defaults above
// for what is left out.  Calls usage() for anything else: too many arguments,
// an empty HOST or one that starts with '-', a PORT that parse_port() rejects.
ServerAddress parse_command_line(int argc, char *argv[]);

// A TCP socket connected to host (a name or an IPv4 address) and port.
// Dies with a message on stderr and status 1 when host does not resolve
// ("resolve HOST: reason") or the connection fails ("connect to ADDR:PORT:
// reason", from lab01's Connect).
int connect_to_server(const char *host, std::uint16_t port);

// The session: copy what arrives on infd to sockfd and what arrives on
// sockfd to outfd, both at once, until the server closes.  At end of infd,
// shut down the sending half of sockfd and go on copying replies.  Returns
// the exit status: 0 when the server closed after infd ended;
// kFailureStatus, with a message on stderr, when the server closed first
// (kServerClosedMessage, exactly) or a system call failed: then the message
// is yours to word, but it must hold strerror(errno) -- "read from server:
// Connection reset by peer", "stdin: Bad file descriptor".  Does not close
// sockfd.
int relay(int infd, int sockfd, int outfd);
