"""The server labs' graded test of the log: each client's lines as they
happen, each once.

Shared by labs 02-06 (bound by the lab modules, as startup_tests.py says).
"""

from grader.harness import graded
from grader.harness.expect import expect, show
from grader.harness.timing import scaled, wait_for
from grader.harness.kit import _N
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

from .echo_server import EXCHANGE, check_reply, connect, leave, start
from .protocol import ACCEPTING, CLOSED, RECEIVED, text

HINT_LOG = _N("Print 'Accepting connections ...' once at start, 'received from IP at PORT N' "
              "(inet_ntop, ntohs) for each Read and 'the other side has been closed.' at end of "
              "file. In main, before anything is printed: setvbuf(stdout, nullptr, _IOLBF, 0). "
              "Into a file, stdout is otherwise fully buffered: lines wait in a buffer that "
              "_exit() drops, or that a child copies and prints a second time.")



@graded(points=1, hint=HINT_LOG, requires=EXCHANGE)
def test_log_lines(lab_dir, run_dir, rng):
    """logs each client as it happens, each line once

    3 clients in turn: the start line once, each client's `received from` line and closing line as
    it happens
    """
    server = start(lab_dir, run_dir)
    for number in range(1, 4):
        client = connect(server)
        check_reply(server, client, text(rng, 30))
        port = client.local_port()
        leave(server, client)
        received = RECEIVED.format(address="127.0.0.1", port=port)
        logged = wait_for(lambda: received in server.output()
                          and server.output().count(CLOSED) >= number, 5)
        output = server.output()
        expect(received in output,
               _("{seconds} s after client {number} (port {port}) was answered and had closed, "
                 "the server's output had no line '{line}'; it had {count} line(s): {output}"
                 ).format(seconds=f"{scaled(5):.0f}", number=number, port=port, line=received,
                          count=len(output.splitlines()),
                          output=show(output[-200:].encode(), 200)))
        expect(logged, _("{seconds} s after client {number} had closed, the server's output had "
                         "{count} line(s) '{line}', not {number}").format(
                             seconds=f"{scaled(5):.0f}", number=number,
                             count=output.count(CLOSED), line=CLOSED))
    output = server.output()
    expect(output.count(ACCEPTING) == 1,
           _("'{line}' appears {count} times in the server's output after 3 clients, not once"
             ).format(line=ACCEPTING, count=output.count(ACCEPTING)))
    expect(output.count(CLOSED) == 3,
           _("'{line}' appears {count} times in the server's output after 3 clients, not 3"
             ).format(line=CLOSED, count=output.count(CLOSED)))

