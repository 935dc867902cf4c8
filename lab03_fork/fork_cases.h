// fork_cases.h -- doctest cases for fork_child, shared by lab03 and lab04.
//
// lab04's fork_child does what lab03's does and survives a failing fork()
// too, so lab04's test_server.cpp includes this file as well (after its own
// server.h and ../lab02_single/echo_cases.h).  Each case runs in a child
// (testing::run_in_child), so fork_child's child is a grandchild of the test
// program: the case waits for it and reports what it saw on stdout.
#pragma once

// No #include "server.h" here: it would find lab03's, next to this file.
#include "../lab02_single/echo_cases.h"
#include "testing.h"

#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fork_cases {

// A listening socket, a client connected to it, and the accepted connection.
struct Accepted {
    testing::Listener listener = testing::listen_on_loopback();
    int client = testing::connect_to_loopback(listener.port);
    sockaddr_in cliaddr{};
    int connfd = accept_connection();

  private:
    int accept_connection()
    {
        socklen_t len = sizeof cliaddr;
        return accept(listener.fd, reinterpret_cast<sockaddr *>(&cliaddr), &len);
    }
};

inline bool is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

// True if process pid has a descriptor for the same socket as fd (the
// entries of /proc/PID/fd read "socket:[INODE]").
inline bool holds_same_socket(pid_t pid, int fd)
{
    struct stat st {};
    if (fstat(fd, &st) < 0)
        return false;
    const std::string wanted = "socket:[" + std::to_string(st.st_ino) + "]";
    std::error_code error;
    const auto dir = "/proc/" + std::to_string(pid) + "/fd";
    for (const auto &entry : std::filesystem::directory_iterator(dir, error)) {
        if (std::filesystem::read_symlink(entry.path(), error).string() == wanted)
            return true;
    }
    return false;
}

inline const char *describe_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == 0 ? "exited 0" : "exited non-zero";
    return "killed by a signal";
}

} // namespace fork_cases

TEST_CASE("fork_child: the child serves the client, the parent closes connfd")
{
    const auto r = testing::run_in_child([] {
        fork_cases::Accepted a;
        const pid_t pid = fork_child(a.listener.fd, a.connfd, a.cliaddr);
        std::printf("parent: pid %s, connfd %s, listenfd %s\n", pid > 0 ? "> 0" : "<= 0",
                    fork_cases::is_open(a.connfd) ? "open" : "closed",
                    fork_cases::is_open(a.listener.fd) ? "open" : "closed");
        testing::write_all(a.client, "hello, child");
        shutdown(a.client, SHUT_WR);
        std::printf("reply: %s\n", testing::read_up_to(a.client, 12).c_str());
        // End of file comes only once both copies of connfd are closed.
        std::printf("end of file: %s\n", testing::reaches_eof(a.client) ? "yes" : "no");
        int status = 0;
        waitpid(pid, &status, 0);
        std::printf("child: %s\n", fork_cases::describe_status(status));
    });
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::contains(r.out, "parent: pid > 0, connfd closed, listenfd open\n"));
    CHECK(echo_cases::contains(r.out, "reply: HELLO, CHILD\n"));
    CHECK(echo_cases::contains(r.out, "end of file: yes\n"));
    CHECK(echo_cases::contains(r.out, "child: exited 0\n"));
}

TEST_CASE("fork_child: the child closes the listening socket")
{
    const auto r = testing::run_in_child([] {
        fork_cases::Accepted a;
        const pid_t pid = fork_child(a.listener.fd, a.connfd, a.cliaddr);
        // Once the child has answered, it is past its set-up.
        testing::write_all(a.client, "x");
        const bool answered = testing::read_up_to(a.client, 1) == "X";
        std::printf("answered: %s, child holds the listening socket: %s\n", answered ? "yes" : "no",
                    fork_cases::holds_same_socket(pid, a.listener.fd) ? "yes" : "no");
        shutdown(a.client, SHUT_WR);
        waitpid(pid, nullptr, 0);
    });
    CHECK(r.exit_status == 0);
    CHECK(r.out == "answered: yes, child holds the listening socket: no\n");
}

TEST_CASE("fork_child: the child ends with _exit and never returns")
{
    const auto r = testing::run_in_child([] {
        fork_cases::Accepted a;
        // Still in this process's stdout buffer (a pipe: fully buffered)
        // when it forks.  exit() in the child would print it a second time.
        std::printf("printed before fork_child\n");
        const pid_t pid = fork_child(a.listener.fd, a.connfd, a.cliaddr);
        std::printf("returned from fork_child\n");
        if (pid <= 0)
            return;
        shutdown(a.client, SHUT_WR);
        int status = 0;
        waitpid(pid, &status, 0);
        std::printf("child: %s\n", fork_cases::describe_status(status));
    });
    CHECK(r.exit_status == 0);
    CHECK(echo_cases::count_of(r.out, "printed before fork_child\n") == 1);
    CHECK(echo_cases::count_of(r.out, "returned from fork_child\n") == 1);
    CHECK(echo_cases::contains(r.out, "child: exited 0\n"));
}
