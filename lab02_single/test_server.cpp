// test_server.cpp -- lab02's unit tests (doctest): `make test`.
//
// lab02's functions are the ones every server lab shares, so its cases live
// in echo_cases.h, which lab03 and lab04 include as well.  One case:
//   build/g++/test_server --test-case='serve_client*'
#include "server.h"

#include "echo_cases.h"
