// test_server.cpp -- lab07_events's unit tests (doctest): `make test`.
#include "server.h"

#include <doctest/doctest.h>

#include <string>

TEST_CASE("greeting: lab07 says hello, NAME and a newline")
{
    char buf[64];
    CHECK(greeting(buf, sizeof buf, "world") == 13);
    CHECK(std::string(buf) == "hello, world\n");
}
