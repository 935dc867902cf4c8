"""lab02_single: the iterative uppercase-echo server.

The tests every server lab shares come from checks/ (lab03 and lab04
grade them again, on top of their own).  The two tests at the end are
lab02's alone: one client at a time -- the limit lab03 removes -- and no
child process.
"""

from grader.harness import graded
from grader.harness.expect import expect, fail
from grader.harness.kit import _N
from grader.i18n import _

from checks.build_tests import builds_test
from checks import (
    startup_tests as startup, reply_tests as replies, leaving_tests as leaving, log_tests as log
)
from checks import echo_server as echo
from checks import protocol
from checks.protocol import uppercase

LAB = "lab02_single"

# An iterative server: no child to accept or exit (harness/diagnose.py's KINDS).
CAUSES = ("crash", "stub", "flood", "wrong-port", "exited-after-listening", "reply-printed",
          "cpu-burn", "errno", "server-exit", "no-reply")

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

# How long the second client is watched for a reply it must not get yet.
WAIT_WHILE_BUSY = 0.5


@graded(points=1, requires=echo.EXCHANGE,
        hint="lab02's server serves one client at a time: Accept, serve_client until that "
             "client closes, Close, and only then Accept again. There is no fork() in lab02.")
def test_one_client_at_a_time(lab_dir, run_dir, rng):
    """one client at a time: a second client waits until the first leaves

    the limit of an iterative server, shown: the second client's reply waits (no fork yet)
    """
    server = echo.start(lab_dir, run_dir)
    first = echo.connect(server)
    echo.check_reply(server, first, protocol.text(rng, 30), what=_N("the first client's reply"))
    second = echo.connect(server)
    line = protocol.text(rng, 30)
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
    """serves its clients without child processes

    lab02 has no `fork()`: no child while clients are served
    """
    server = echo.start(lab_dir, run_dir)
    for number in range(1, 4):
        with echo.connect(server) as client:
            echo.check_reply(server, client, protocol.text(rng, 30))
            children = server.children()
            expect(not children,
                   _("while serving client {number}, the server had {count} child "
                     "process(es): pid {pids}").format(
                         number=number, count=len(children),
                         pids=", ".join(str(c.pid) for c in children)))
