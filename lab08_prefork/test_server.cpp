// test_server.cpp -- lab08_prefork's unit tests (doctest): `make test`.
#include "server.h"

#include <doctest/doctest.h>

#include <string>

TEST_CASE("greeting: lab08 says hello, NAME and a newline")
{
    char buf[64];
    CHECK(greeting(buf, sizeof buf, "world") == 13);
    CHECK(std::string(buf) == "hello, world\n");
}
