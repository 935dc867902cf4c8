"""Driving a server under test: start it, connect, check its replies, and
read its state from /proc (its children, their exit status, its descriptors).

No helper sleeps to synchronise: each polls for the state it needs
(timing.wait_for) with a deadline, and says what it saw when the deadline
passed.
"""

import errno
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from grader.harness import net, procs, replace_hint
from grader.harness.expect import fail
from grader.harness.timing import scaled, wait_for
from grader.harness.kit import _N
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

from .protocol import expect_reply


SERVER_STARTS = "server starts"
ONE_CLIENT = "replies in uppercase to one client"
# What every test that talks to the server needs: when the basic exchange
# fails (no reply at all, a crash), the tests built on it are not run, so the
# student reads one cause instead of a cascade of unrelated hints.
EXCHANGE = (SERVER_STARTS, ONE_CLIENT)

HINT_SLOW = _N("The reply was right as far as it came, and it was still coming when the "
               "test's ceiling passed: the server is correct but very slow. Read and write in "
               "blocks (a buffer of a few KiB per Read and Writen), not a byte at a time, and "
               "never sleep between writes.")

# ---------------------------------------------------------------- servers

def server_binary(lab_dir: Path) -> Path:
    return lab_dir / "server"


def start(lab_dir, run_dir, *, name="server", limits=None, env=None) -> procs.Program:
    """Start the lab's server on a free port; fail the test if it does not listen."""
    try:
        return net.start_server(server_binary(lab_dir), cwd=run_dir, log_dir=run_dir, name=name,
                                limits=limits, env=env)
    except net.ServerDidNotStart as exc:
        fail(_("the server did not start: {why}").format(why=exc))


def start_on_port(lab_dir, run_dir, port: int, *, name: str) -> procs.Program:
    """Start `server PORT` on a given port; returns it whether it listens or not."""
    program = procs.start(name, [server_binary(lab_dir), str(port)], cwd=run_dir,
                          log_dir=run_dir)
    program.port = port
    wait_for(lambda: net.is_listening(program.pid, port) or not program.running(), 10)
    return program


def last_output(program, lines: int = 3) -> str:
    tail = program.tail(lines).strip()
    return _("; it printed: {output}").format(output=repr(tail)) if tail else ""


def state(server) -> str:
    """'the server is still running' or 'the server exited with status 1'..."""
    return _("the server {ended}").format(ended=server.describe_exit())


def connect(server, stall: float = None) -> net.Client:
    """A client of the server (its waits: net.Client); fail if it cannot connect."""
    try:
        return net.Client(server.port, stall=stall)
    except OSError as exc:
        if exc.errno == errno.ECONNREFUSED:
            # An exiting server closes its socket before it can be waited
            # for: on a busy machine, give its exit a moment to show.
            wait_for(lambda: not server.running(), 1)
        fail(_("could not connect to the server on port {port} ({why}); {state}").format(
            port=server.port, why=exc.strerror or exc, state=state(server)) + last_output(server))


def check_reply(server, client, data: bytes, what: str = _N("the reply"), **exchange) -> None:
    """Send data, read the reply at the same time, and fail unless it is the
    uppercase of data, byte for byte."""
    try:
        received = client.exchange(data, **exchange)
    except OSError as exc:
        fail(_("{what}: the connection failed ({why}); {state}").format(
            what=_(what), why=exc.strerror or exc, state=state(server)) + last_output(server))
    if client.waited.ending == "ceiling":
        replace_hint(HINT_SLOW)
    try:
        expect_reply(data, received, what=what, ended=client.waited.describe())
    except pytest.fail.Exception as exc:
        fail(_("{observed}\n  ({state})").format(observed=exc.msg, state=state(server)))


# -------------------------------------------------------------- processes

def wait_until_idle(server, timeout: float = 5) -> bool:
    """Wait until the server has no child left that is still running (its
    children, if it has any, have exited: zombies or gone)."""
    return wait_for(lambda: not server.live_children(), timeout)


def wait_until_accepting(server, timeout: float = 5) -> bool:
    """Wait until the server's own process sleeps -- between two clients,
    that is in accept().  Tests call it before a client leaves, so that the
    exit of that client's child interrupts accept() every time, the case a
    server must survive (not only when the scheduler happens to allow it)."""
    proc = server.process()
    if proc is None:
        return False
    return wait_for(lambda: procs.status_of(proc) in (psutil.STATUS_SLEEPING, None), timeout)


def catches_sigchld(pid: int) -> bool:
    """True if process pid has a handler for SIGCHLD (SigCgt in /proc/PID/status)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signal.SIGCHLD - 1) & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def leave(server, client, *, reset: bool = False, timeout: float = 5) -> None:
    """A client leaves (closes, or resets), and the server has dealt with it
    before the test goes on: the child that served the client has ended and,
    if the server catches SIGCHLD, has been reaped -- or the server has died
    of it.  The client leaves while the server waits in accept(), so its
    child's SIGCHLD interrupts accept() every time, not only when the
    scheduler allows; and waiting for the reaping means the next client does
    not connect while that signal is still on its way."""
    wait_until_accepting(server)
    serving = server.live_children()
    if reset:
        client.reset()
    else:
        client.close()
    if not serving:
        return
    wait_for(lambda: any(not procs.is_live(c) for c in serving), timeout)
    ended = [c for c in serving if not procs.is_live(c)]
    if ended and catches_sigchld(server.pid):
        wait_for(lambda: not server.running() or all(procs.status_of(c) is None for c in ended),
                 timeout)


def serving_process(server):
    """The process serving the server's latest client: its newest live child,
    or the server itself when it has none (lab02, or a server with threads);
    None once the server has exited."""
    children = server.live_children()
    if not children:
        return server.process()

    def started(child):
        try:
            return child.create_time()
        except psutil.Error:  # gone meanwhile
            return 0
    return max(children, key=started)


@contextmanager
def stopped(pid: int, what: str):
    """SIGSTOP pid for the block (waiting until it is stopped), SIGCONT after."""
    os.kill(pid, signal.SIGSTOP)
    try:
        proc = psutil.Process(pid)
        if not wait_for(lambda: procs.status_of(proc) in (psutil.STATUS_STOPPED, None), 5):
            fail(_("grader: {what} (pid {pid}) did not stop within {seconds} s of SIGSTOP"
                   ).format(what=_(what), pid=pid, seconds=f"{scaled(5):.0f}"))
        yield
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def wait_status(pid: int):
    """The wait status of zombie pid, as waitpid() would return it to its
    parent (/proc/PID/stat, field 52), or None if pid is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[49]) if len(fields) >= 50 else None


# Descriptors a server may open once, when first needed, and keep: an epoll
# instance, the two ends of a self-pipe.  A leak grows with every client:
# the descriptor tests make 60 and 2000 of them.
KEPT_DESCRIPTORS = 3


def descriptors_after_settling(server, baseline, timeout: float = 3):
    """Wait until the server holds no more open descriptors than baseline
    (plus the KEPT_DESCRIPTORS a design may open once); returns how many it
    holds then (None once it has exited)."""
    def settled():
        now = server.num_fds()
        return now is None or baseline is None or now <= baseline + KEPT_DESCRIPTORS
    wait_for(settled, timeout)
    return server.num_fds()


def describe_status(status) -> str:
    """A wait status (as exit_status() reads it) in words."""
    if status is None:
        return _("ended (its status could not be read)")
    return procs.describe_returncode(os.waitstatus_to_exitcode(status))


def connection_state(pid: int, client_port: int):
    """TCP state (sockdiag.ESTABLISHED, CLOSE_WAIT...) of process pid's socket
    connected to client_port, or None if it holds no such socket."""
    return net.connection_state(pid, client_port)


# ------------------------------------------------------------------ hints

