// test_server.cpp -- lab03's unit tests (doctest): `make test`.
//
// lab02's functions keep their cases (../lab02_single/echo_cases.h);
// fork_child's are in fork_cases.h, which lab04 includes too.  One case:
//   build/g++/test_server --test-case='fork_child*'
#include "server.h"

#include "../lab02_single/echo_cases.h"
#include "fork_cases.h"
