// server.cpp -- lab07_events: one process, many clients.
//
// Student file (a placeholder written by `make new-lab`).
//
//   server NAME          prints "hello, NAME"
#include "server.h"
#include "todo.h"

#include <cstdio>

int greeting(char *buf, std::size_t size, const char *name)
{
    // BEGIN SOLUTION stub: not_implemented("lab07: greeting", buf, size, name);
    return std::snprintf(buf, size, "hello, %s\n", name);
    // END SOLUTION
}

int main(int argc, char *argv[])
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: server NAME\n");
        return 2;
    }
    char buf[256];
    greeting(buf, sizeof buf, argv[1]);
    std::fputs(buf, stdout);
    return 0;
}
