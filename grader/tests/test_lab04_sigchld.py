"""lab04_sigchld: the course note's full server, corrected -- no zombies.

Graded on the tests of lab02 and lab03 (checks/startup_tests.py and its
siblings, checks/fork_tests.py), plus the SIGCHLD handler
(checks/reaping_tests.py): every child is reaped, also when many exit at
once or one is killed; accept() survives the signal; a failed fork() drops
one client instead of the server; and a soak of thousands of connections.
"""

from checks.build_tests import builds_test
from checks import (
    startup_tests as startup, reply_tests as replies, leaving_tests as leaving, log_tests as log
)
from checks import fork_tests
from checks import reaping_tests

LAB = "lab04_sigchld"

# pytest runs the tests of a module in the order their names are bound here.
test_builds = builds_test()
test_server_starts = startup.test_server_starts
test_bad_arguments = startup.test_bad_arguments
test_port_in_use = startup.test_port_in_use
test_one_client = replies.test_one_client
test_restarts_on_the_same_port = startup.test_restarts_on_the_same_port
test_clients_one_after_another = replies.test_clients_one_after_another
test_no_newline_needed = replies.test_no_newline_needed
test_many_lines_at_once = replies.test_many_lines_at_once
test_long_line = replies.test_long_line
test_megabytes = replies.test_megabytes
test_every_byte_value = replies.test_every_byte_value
test_small_fragments = replies.test_small_fragments
test_clients_that_disconnect = leaving.test_clients_that_disconnect
test_client_gone_while_written_to = leaving.test_client_gone_while_written_to
test_log_lines = log.test_log_lines
test_idle_client_delays_nobody = fork_tests.test_idle_client_delays_nobody
test_one_child_per_client = fork_tests.test_one_child_per_client
test_children_exit = fork_tests.test_children_exit
test_parent_closes_connfd = fork_tests.test_parent_closes_connfd
test_low_descriptor_limit = fork_tests.test_low_descriptor_limit
test_child_closes_listenfd = fork_tests.test_child_closes_listenfd
test_children_reaped = reaping_tests.test_children_reaped
test_many_exit_at_once = reaping_tests.test_many_exit_at_once
test_accepts_while_children_exit = reaping_tests.test_accepts_while_children_exit
test_killed_child_reaped = reaping_tests.test_killed_child_reaped
test_fork_failure = reaping_tests.test_fork_failure
test_soak = reaping_tests.test_soak
