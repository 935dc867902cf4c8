"""lab02_single: the iterative uppercase-echo server.

The tests every server lab shares come from echo_checks.py (lab03 and lab04
grade them again, on top of their own).  The two tests at the end are
lab02's alone: one client at a time -- the limit lab03 removes -- and no
child process.
"""

import echo_checks as echo
from harness import graded
from harness.common import builds_test
from harness.expect import expect, fail, uppercase
from harness.kit import _N
from i18n import _

LAB = "lab02_single"

# pytest runs the tests of a module in the order their names are bound here.
test_builds = builds_test()
test_server_starts = echo.test_server_starts
test_bad_arguments = echo.test_bad_arguments
test_port_in_use = echo.test_port_in_use
test_one_client = echo.test_one_client
test_restarts_on_the_same_port = echo.test_restarts_on_the_same_port
test_clients_one_after_another = echo.test_clients_one_after_another
test_no_newline_needed = echo.test_no_newline_needed
test_many_lines_at_once = echo.test_many_lines_at_once
test_long_line = echo.test_long_line
test_megabytes = echo.test_megabytes
test_every_byte_value = echo.test_every_byte_value
test_small_fragments = echo.test_small_fragments
test_clients_that_disconnect = echo.test_clients_that_disconnect
test_client_gone_while_written_to = echo.test_client_gone_while_written_to
test_log_lines = echo.test_log_lines

# How long the second client is watched for a reply it must not get yet.
WAIT_WHILE_BUSY = 0.5


@graded(points=1, requires=echo.EXCHANGE,
        hint="lab02's server serves one client at a time: Accept, serve_client until that "
             "client closes, Close, and only then Accept again. There is no fork() in lab02.")
def test_one_client_at_a_time(lab_dir, run_dir, rng):
    """one client at a time: a second client waits until the first leaves"""
    server = echo.start(lab_dir, run_dir)
    first = echo.connect(server)
    echo.check_reply(server, first, echo.text(rng, 30), what=_N("the first client's reply"))
    second = echo.connect(server)
    line = echo.text(rng, 30)
    second.send(line)
    expect(second.nothing_arrives_within(WAIT_WHILE_BUSY),
           _("the second client got an answer while the first one was still connected: is "
             "somebody else (a child? a thread?) serving it?"))
    first.close()
    received = second.recv_exactly(len(line))
    if received != uppercase(line):
        fail(_("once the first client had left, the second client got {got} of the {owed} "
               "reply bytes it was owed ({state})").format(got=len(received), owed=len(line),
                                                           state=echo.state(server)))
    second.close()


@graded(points=1, requires=echo.EXCHANGE,
        hint="lab02's server serves each client itself: no fork() (that is lab03).")
def test_no_child_process(lab_dir, run_dir, rng):
    """serves its clients without child processes"""
    server = echo.start(lab_dir, run_dir)
    for number in range(1, 4):
        with echo.connect(server) as client:
            echo.check_reply(server, client, echo.text(rng, 30))
            children = server.children()
            expect(not children,
                   _("while serving client {number}, the server had {count} child "
                     "process(es): pid {pids}").format(
                         number=number, count=len(children),
                         pids=", ".join(str(c.pid) for c in children)))
