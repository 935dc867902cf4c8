"""lab06's own doctest cases, graded one by one: the contract of the
functions server.h adds to lab04's (its options, the count, the signals, the
wait at the cap, the stop).  The cases of labs 02-04 that test_server.cpp
runs again are graded by those labs' own graded tests, which lab06 binds.

Every case of the built binary is graded here or excluded (EXCLUDED, with
why): selftest/test_lab01_cases.py checks lab06's binary too.
"""

from grader.harness.kit import _N

# What each case's graded test does (the second paragraph of its docstring).
CASE_DESCRIPTION = _N("its doctest case of `test_server.cpp`, run alone")

# The unit-test binary in the built lab folder (program.mk's TEST_BIN).
TEST_BINARY = "build/g++/test_server"

OPTIONS = _N("options_from_args: getopt(argc, argv, \"n:g:\"); -n from 1 to 4096, -g from 0 to "
             "3600, each checked whole (std::from_chars); anything else a usage message on "
             "stderr and exit(2); then port_from_args on the operands left.")
COUNT = _N("add_child after each fork that worked (running, served, most_at_once); "
           "reap_children: while ((pid = waitpid(-1, nullptr, WNOHANG)) > 0) remove pid from "
           "running -- never blocking, never in a handler.")
SIGNALS = _N("install_signal_handlers: note_signal for SIGCHLD, SIGTERM and SIGINT (a zeroed "
             "struct sigaction, checked), the three blocked with sigprocmask, and the mask from "
             "before returned with the three taken out: the mask to wait with.")
WAIT = _N("wait_for_free_slot: while running.size() >= cap and no stop signal: "
          "sigsuspend(&wait_mask), then reap_children. The count is checked with SIGCHLD "
          "blocked, and sigsuspend lets it in and sleeps in one step: no lost wakeup, no CPU.")
STOP = _N("finish_children: one deadline (now + the grace); ppoll with the time left and the "
          "wait mask, reaping after each wake-up, until no child is left or the deadline "
          "passes; then SIGTERM each child still running (stopped_after_grace) and "
          "sigsuspend + reap until none is left.")

# (doctest case name, points, hint); _N marks the names and hints for the .po.
CASES = [
    (_N("options_from_args: the defaults without options"), 1, OPTIONS),
    (_N("options_from_args: -n, -g and a port"), 1, OPTIONS),
    (_N("options_from_args: bad options print a usage message and exit 2"), 1, OPTIONS),
    (_N("add_child, reap_children: the count follows forks and exits, never blocking"), 1,
     COUNT),
    (_N("note_signal: SIGTERM and SIGINT set g_stop_signal, SIGCHLD does not; errno kept"), 1,
     _N("note_signal: save errno, set g_stop_signal = signo for SIGTERM and SIGINT only, "
        "restore errno. It does nothing else: its arrival is what ends the wait.")),
    (_N("install_signal_handlers: blocks the three signals, returns a mask that lets them in"),
     1, SIGNALS),
    (_N("restore_signals_in_child: SIGTERM ends the child, even one sent before; SIGINT does "
        "not"), 1,
     _N("restore_signals_in_child: SIGTERM and SIGCHLD back to SIG_DFL, SIGINT to SIG_IGN -- "
        "dispositions first -- then unblock the three: a SIGTERM pending since the fork then "
        "ends the child.")),
    (_N("wait_for_free_slot: returns at once below the cap"), 1, WAIT),
    (_N("wait_for_free_slot: sleeps at the cap, using no CPU, until a child exits"), 1, WAIT),
    (_N("wait_for_free_slot: no lost wakeup when the child exits just before the wait"), 1, WAIT),
    (_N("wait_for_free_slot: a stop signal ends the wait at the cap"), 1, WAIT),
    (_N("accept_client: returns a waiting client, and -1 when a signal ends the wait"), 1,
     _N("accept_client: ppoll on the listening socket with the wait mask; -1 when a signal "
        "ended it (EINTR), else Accept, and after_accept_error when that fails.")),
    (_N("fork_child: a failed fork drops that client and returns -1"), 1,
     _N("fork_child: when fork() returns -1, log it on stderr, Close(connfd) and return -1; "
        "never exit.")),
    (_N("back_off: longer after each failed fork, and a stop signal ends it at once"), 1,
     _N("back_off(failures, wait_mask): kForkRetryMs doubled failures - 1 times, at most "
        "kForkRetryMaxMs, slept with ppoll(nullptr, 0, &delay, &wait_mask) so that a stop "
        "signal ends it.")),
    (_N("finish_children: waits for the children within the grace, then SIGTERMs the rest"), 1,
     STOP),
    (_N("finish_children: returns at once when every child is done"), 1, STOP),
    (_N("print_summary: served N clients, at most M children at once, K stopped"), 1,
     _N("print_summary prints exactly \"served N clients, at most M children at once, K "
        "stopped after the grace period\" and a newline on stdout.")),
]

LABS_02_TO_04 = _N("a case of labs 02-04, which lab06 grades through their graded tests")
# Name prefixes ('*') of the cases test_server.cpp includes from labs 02-04.
EXCLUDED = {
    "uppercase: *": LABS_02_TO_04,
    "port_from_args: *": LABS_02_TO_04,
    "open_listener: *": LABS_02_TO_04,
    "serve_client: *": LABS_02_TO_04,
    "ignore_sigpipe: *": LABS_02_TO_04,
    "after_accept_error: *": LABS_02_TO_04,
    "fork_child: the child *": LABS_02_TO_04,
}
