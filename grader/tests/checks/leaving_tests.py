"""The server labs' graded tests of clients that leave badly: a reset in
mid-stream, and a client gone while its reply is written (SIGPIPE).

Shared by labs 02-06 (bound by the lab modules, as startup_tests.py says).
"""

import selectors
import signal
from contextlib import ExitStack

from grader.harness import graded, procs, replace_hint, sockdiag
from grader.harness.expect import expect
from grader.harness.timing import scaled, wait_for
from grader.harness.kit import _N
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

from .echo_server import (
    EXCHANGE, check_reply, connect, connection_state, describe_status, last_output, leave,
    serving_process, start, state, stopped, wait_status, wait_until_accepting, wait_until_idle
)
from .reply_tests import HINT_SEQUENTIAL
from .protocol import text

HINT_DISCONNECT = _N("serve_client: when Read or Writen returns -1 (ECONNRESET, EPIPE), log the "
                     "error and return; the caller closes connfd and goes on. An error of one "
                     "connection must never end the server (no perr_exit there).")
HINT_SIGPIPE = _N("Ignore SIGPIPE at start-up (ignore_sigpipe: sigaction with SIG_IGN). Writing to "
                  "a client that has gone then fails (EPIPE, or ECONNRESET) instead of killing "
                  "the process, and serve_client ends that connection.")
HINT_CHILD_ENDS = _N("A child serves one client, then ends: when Read returns 0 or Writen fails "
                     "(EPIPE, ECONNRESET), serve_client returns, and the child calls "
                     "Close(connfd) and _exit(0) -- it never goes back into the accept loop.")


def flood(client, limit: int = 4 << 20) -> None:
    """Send without reading until the connection is full, and wait until some
    reply has come back: closed now, with that reply unread, the connection
    is reset while the server is busy writing to it."""
    sock = client.sock
    sock.setblocking(False)
    chunk = b"flood of lowercase text\n" * 2730
    sent = 0
    while sent < limit:
        try:
            sent += sock.send(chunk)
        except BlockingIOError:
            break
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    sel.select(timeout=scaled(5))
    sel.close()


@graded(points=2, hint=HINT_DISCONNECT, requires=EXCHANGE)
def test_clients_that_disconnect(lab_dir, run_dir, rng):
    """survives clients that disconnect or reset mid-stream

    clients reset in mid-stream: `Read` or `Writen` returns -1, the server goes on
    """
    server = start(lab_dir, run_dir)
    steps = []

    impatient = connect(server)
    impatient.reset()
    steps.append(_("a client reset its connection right after connecting"))
    wait_until_idle(server)

    resetter = connect(server)
    check_reply(server, resetter, text(rng, 50))
    leave(server, resetter, reset=True)
    steps.append(_("a client reset its connection while the server waited for its next bytes"))

    flooder = connect(server)
    flood(flooder)
    leave(server, flooder)
    steps.append(_("a client closed with its reply unread while the server was writing to it"))

    expect(server.running(), _("{state} after: {steps}").format(
        state=state(server), steps=_("; ").join(steps)) + last_output(server))
    with connect(server) as client:
        check_reply(server, client, text(rng, 60),
                    what=_N("after three clients disconnected abruptly, a new client's reply"))


@graded(points=2, hint=HINT_SIGPIPE, requires=EXCHANGE)
def test_client_gone_while_written_to(lab_dir, run_dir, rng):
    """survives a client that closes while its reply is written (SIGPIPE)

    the `SIGPIPE` case: ignored, `Writen` fails with `EPIPE` or `ECONNRESET`
    """
    server = start(lab_dir, run_dir)
    client = connect(server)
    check_reply(server, client, text(rng, 20))
    port = client.local_port()
    serving = serving_process(server)
    expect(serving is not None, _("{state} right after it answered the client").format(
        state=state(server)) + last_output(server))
    is_child = serving.pid != server.pid
    who = (_("the child (pid {pid}) serving the client").format(pid=serving.pid) if is_child
           else _("the server"))
    wait_until_accepting(server)
    with ExitStack() as stack:
        if is_child:
            # The parent waits, so that the child's exit status stays there for
            # us to read (lab04's parent would reap it at once).
            stack.enter_context(stopped(server.pid, _("the server")))
        # While the serving process is stopped, the client sends 32 kB and
        # closes.  Once it runs again, its first reply makes the client's
        # kernel answer with a reset, and its next write finds the client
        # gone: EPIPE if SIGPIPE is ignored, death by SIGPIPE if not.
        with stopped(serving.pid, who):
            client.send(text(rng, 32 * 1024))
            client.close()
            expect(wait_for(lambda: connection_state(serving.pid, port) == sockdiag.CLOSE_WAIT,
                            5),
                   _("grader: {who} did not see the client close within {seconds} s").format(
                       who=who, seconds=f"{scaled(5):.0f}"))
        if is_child:
            wait_for(lambda: not procs.is_live(serving), 5)
        else:
            wait_for(lambda: not server.running() or connection_state(server.pid, port) is None,
                     5)
        if is_child:
            if procs.is_live(serving):
                replace_hint(HINT_CHILD_ENDS)
            expect(not procs.is_live(serving),
                   _("{who} was still running {seconds} s after its client had gone").format(
                       who=who, seconds=f"{scaled(5):.0f}"))
            status = wait_status(serving.pid)
            expect(status is None or not status & 0x7F,
                   _("{who} {ended} when it wrote to the client that had closed").format(
                       who=who, ended=describe_status(status)))
    if not server.running() and server.returncode != -signal.SIGPIPE:
        replace_hint(HINT_DISCONNECT)  # it did not die of SIGPIPE
    expect(server.running(),
           _("{state} when it wrote to a client that had closed").format(state=state(server))
           + last_output(server))
    replace_hint(HINT_SEQUENTIAL)
    with connect(server) as again:
        check_reply(server, again, text(rng, 40), what=_N("the next client's reply"))


