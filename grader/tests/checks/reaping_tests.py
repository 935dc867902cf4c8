"""The graded tests of a server that reaps its children with SIGCHLD: every
child is reaped, also when many exit at once or one is killed; accept()
survives the signal; a failed fork() drops one client instead of the
server; and a soak of thousands of connections.  The soak is short here;
`make soak` in lab04_sigchld (FORKLAB_SOAK=long) runs the long one.

lab04 grades them; lab06 grades most of them again (bound by the lab
modules, as startup_tests.py says).
"""

import errno
import os
import selectors
import signal
import socket
import time

from grader.harness import graded, note, procs
from grader.harness.expect import expect, fail, show
from grader.harness.timing import (
    CEILING_SECONDS, STALL_SECONDS, deadline_passed, scaled, wait_for
)
from grader.harness.kit import _N
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated
from grader import settings

from . import echo_server as echo, protocol
from .protocol import uppercase
from . import fork_tests

# How long a zombie may stay before the tests call it a leftover.
REAP_DEADLINE = 5

SOAK_LONG = settings.SOAK == "long"
# The soak's ceiling (SOAK_SECONDS) is far above what it takes a correct
# server on a busy machine; it fails sooner only when no connection ends for
# STALL_SECONDS.
SOAK_CONNECTIONS, SOAK_AT_ONCE, SOAK_SECONDS = ((100_000, 300, 1200) if SOAK_LONG
                                                else (2_000, 200, CEILING_SECONDS))

# Beyond this many zombies the soak opens no new connection until the server
# has reaped them (a busy machine may keep the parent from running for a
# moment); if they are still there REAP_DEADLINE later, it stops: it has seen
# enough, and the machine's process table is not a dustbin.
MAX_SOAK_ZOMBIES = 100


HINT_REAPED = _N("Install a SIGCHLD handler once, before the accept loop (install_sigchld_handler "
                 "with sigaction), that reaps exited children with waitpid(-1, nullptr, WNOHANG). "
                 "Without it every child that exits stays a zombie (Z in `ps -o pid,ppid,stat,cmd "
                 "--forest`).")
HINT_MANY_AT_ONCE = _N("Signals do not queue: one SIGCHLD can stand for many children that exited "
                       "together. Reap in a loop: while (waitpid(-1, nullptr, WNOHANG) > 0) -- "
                       "not if.")
HINT_ACCEPT = _N("Each child that exits interrupts the parent, blocked in accept(), with SIGCHLD. "
                 "Install the handler with SA_RESTART, and retry accept() after EINTR (Accept "
                 "does). The handler must never block: WNOHANG, never wait() -- the parent "
                 "cannot accept while it waits for children that still serve.")
HINT_KILLED = _N("Reap every child however it ended: waitpid(-1, nullptr, WNOHANG) returns "
                 "children killed by a signal as well as those that exited.")
HINT_FORK_FAILS = _N("fork_child: when fork() returns -1, log the error, Close(connfd) (that "
                     "client is dropped: it reads end of file, or ECONNRESET if what it sent "
                     "was never read) and return to the accept loop. Don't exit: the "
                     "course note's perr_exit(\"fork\") ends the service for every client "
                     "because one fork failed.")
HINT_SOAK = _N("Everything at once: Writen for every reply, Close(connfd) in the parent, a SIGCHLD "
               "handler with a while loop and WNOHANG, SA_RESTART. The observed line says what "
               "broke first.")


def remaining_children(server) -> str:
    zombies = len(server.zombie_children())
    live = len(server.live_children())
    return _("{zombies} zombie(s) and {live} running child(ren)").format(zombies=zombies, live=live)


@graded(points=2, hint=HINT_REAPED, requires=echo.EXCHANGE)
def test_children_reaped(lab_dir, run_dir, rng):
    """no zombies: each child is reaped when its client leaves

    4 clients leave one by one: a `SIGCHLD` handler with `waitpid` reaps each child
    """
    server = echo.start(lab_dir, run_dir)
    clients = fork_tests.connect_clients(server, 4, rng)
    fork_tests.expect_children(server, 4, "with 4 clients connected")
    for number, client in enumerate(clients, start=1):
        echo.wait_until_accepting(server)
        client.close()
        left = 4 - number
        reaped = wait_for(lambda: len(server.children()) == left, REAP_DEADLINE)
        expect(server.running(), _("{state} after client {number} of 4 left").format(
            state=echo.state(server), number=number) + echo.last_output(server, 1))
        zombies = server.zombie_children()
        pids = ", ".join(str(z.pid) for z in zombies)
        expect(reaped or not zombies,
               _("{count} child(ren) of the server (pid {pids}) were zombies {seconds} s after "
                 "client {number} of 4 left ({state})").format(
                     count=len(zombies), pids=pids, seconds=f"{scaled(REAP_DEADLINE):.0f}",
                     number=number, state=echo.state(server)))
        expect(reaped, _("{seconds} s after client {number} of 4 left, the server had {children}, "
                         "not {left} running children").format(
                             seconds=f"{scaled(REAP_DEADLINE):.0f}", number=number,
                             children=remaining_children(server), left=left))
    with echo.connect(server) as client:
        echo.check_reply(server, client, protocol.text(rng, 30), what=_N("a new client's reply"))


@graded(points=2, hint=HINT_MANY_AT_ONCE, requires=echo.EXCHANGE)
def test_many_exit_at_once(lab_dir, run_dir, rng):
    """no zombies when many clients leave at once

    20 children exit while the parent is paused: one signal for all, `while` not `if`
    """
    server = echo.start(lab_dir, run_dir)
    count = 20
    clients = fork_tests.connect_clients(server, count, rng)
    children = fork_tests.expect_children(server, count, _("with {count} clients connected"
                                                           ).format(count=count))
    # While the parent is stopped, all the children exit: it will find one
    # SIGCHLD pending for all of them, as when they exit faster than it runs.
    with echo.stopped(server.pid, "the server"):
        for client in clients:
            client.close()
        exited = wait_for(lambda: not any(procs.is_live(c) for c in children), 10)
        expect(exited, _("{running} of {count} children were still running {seconds} s after "
                         "their clients left").format(
                             running=sum(procs.is_live(c) for c in children), count=count,
                             seconds=f"{scaled(10):.0f}"))
    reaped = wait_for(lambda: not server.children(), REAP_DEADLINE)
    expect(reaped, _("{count} children exited together; {seconds} s later {zombies} of them "
                     "were still zombies ({state})").format(
                         count=count, seconds=f"{scaled(REAP_DEADLINE):.0f}",
                         zombies=len(server.zombie_children()), state=echo.state(server)))


@graded(points=2, hint=HINT_ACCEPT, requires=echo.EXCHANGE)
def test_accepts_while_children_exit(lab_dir, run_dir, rng):
    """keeps accepting while children exit (SIGCHLD interrupts accept)

    a child's `SIGCHLD` interrupts `accept()`: `SA_RESTART` or an `EINTR` retry, a handler that
    never blocks
    """
    server = echo.start(lab_dir, run_dir)
    keeper = echo.connect(server)
    echo.check_reply(server, keeper, protocol.text(rng, 30), what=_N("the first client's reply"))
    for number in range(1, 7):
        client = echo.connect(server)
        data = protocol.text(rng, 30)
        received = client.exchange(data)
        if received != uppercase(data):
            fail(_("client {number} got {got} of {owed} reply bytes ({ended}); {left} "
                   "client(s) had left before it, while one stayed connected ({state}, "
                   "{children})").format(number=number + 1, got=len(received), owed=len(data),
                                         ended=client.waited.describe(), left=number - 1,
                                         state=echo.state(server),
                                         children=remaining_children(server))
                 + echo.last_output(server, 1))
        echo.leave(server, client)
    echo.check_reply(server, keeper, protocol.text(rng, 30),
                     what=_N("the client that stayed connected all along: its reply"))
    keeper.close()


@graded(points=1, hint=HINT_KILLED, requires=echo.EXCHANGE)
def test_killed_child_reaped(lab_dir, run_dir, rng):
    """no zombies when a child is killed by a signal

    `SIGKILL`, `SIGTERM`: reaped like the others
    """
    server = echo.start(lab_dir, run_dir)
    clients = fork_tests.connect_clients(server, 2, rng)
    children = fork_tests.expect_children(server, 2, _("with {count} clients connected"
                                                       ).format(count=2))
    for child, signo in zip(children, (signal.SIGKILL, signal.SIGTERM)):
        echo.wait_until_accepting(server)
        os.kill(child.pid, signo)
        gone = wait_for(lambda: procs.status_of(child) is None, REAP_DEADLINE)
        if procs.status_of(child) == "zombie":
            left = _("child {pid}, killed by {signal}, was a zombie {seconds} s later ({state})")
        else:
            left = _("child {pid}, killed by {signal}, was still there {seconds} s later ({state})")
        expect(gone, left.format(pid=child.pid, signal=signo.name,
                                 seconds=f"{scaled(REAP_DEADLINE):.0f}", state=echo.state(server)))
    for client in clients:
        client.close()
    with echo.connect(server) as client:
        echo.check_reply(server, client, protocol.text(rng, 30), what=_N("a new client's reply"))


@graded(points=2, hint=HINT_FORK_FAILS, requires=echo.EXCHANGE)
def test_fork_failure(lab_dir, run_dir, rng, preload):
    """survives fork() failing: drops that client, keeps serving

    the 2nd `fork()` fails with `EAGAIN` (a preloaded library): that client, which has sent
    nothing, sees end of file; the 3rd is served
    """
    env = dict(os.environ, LD_PRELOAD=str(preload("fail_fork")), FORKLAB_FAIL_FORK="2")
    server = echo.start(lab_dir, run_dir, env=env)
    first = echo.connect(server)
    echo.check_reply(server, first, protocol.text(rng, 30), what=_N("the first client's reply"))
    echo.leave(server, first)
    unlucky = echo.connect(server)
    _data, eof = unlucky.read_until_eof()
    expect(eof, _("fork() failed for the 2nd client; its connection was still open: {ended} "
                  "({state})").format(ended=unlucky.waited.describe(), state=echo.state(server))
           + echo.last_output(server, 2))
    unlucky.close()
    third = echo.connect(server)
    echo.check_reply(server, third, protocol.text(rng, 30),
                     what=_N("after fork() had failed for the 2nd client, the 3rd client's reply"))
    third.close()


class SoakConnection:
    """One client of the soak: what it sends, what came back."""

    def __init__(self, number: int, sock: socket.socket, payload: bytes):
        self.number = number
        self.sock = sock
        self.payload = payload
        self.sent = 0
        self.connected = False
        self.received = bytearray()


class Soak:
    """Many clients at once through one selector; each sends its payload,
    half-closes, and reads the reply until the server closes."""

    def __init__(self, server, rng, total: int, at_once: int):
        self.server = server
        self.rng = rng
        self.total = total
        self.at_once = at_once
        self.address = ("127.0.0.1", server.port)
        self.selector = selectors.DefaultSelector()
        self.started = 0
        self.finished = 0
        self.wrong = []  # (connection number, what went wrong)
        self.peak_children = 0
        self.too_many_zombies_since = None  # when the zombies went over MAX_SOAK_ZOMBIES

    def payload(self, number: int) -> bytes:
        if number == 0:
            return bytes(range(256)) + b"\n"
        return self.rng.randbytes(self.rng.randint(1, 3000))

    def open_one(self) -> None:
        number = self.started
        self.started += 1
        sock = socket.socket()
        sock.setblocking(False)
        code = sock.connect_ex(self.address)
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            self.finished += 1
            self.wrong.append((number, _("connect failed: {why}").format(why=os.strerror(code))))
            return
        conn = SoakConnection(number, sock, self.payload(number))
        self.selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)

    def finish(self, conn: SoakConnection, problem: str = None) -> None:
        self.selector.unregister(conn.sock)
        conn.sock.close()
        self.finished += 1
        expected = uppercase(conn.payload)
        if problem is None and bytes(conn.received) != expected:
            problem = _("sent {sent} bytes {data}, got {got} back {reply}").format(
                sent=len(conn.payload), data=show(conn.payload, 24), got=len(conn.received),
                reply=show(bytes(conn.received), 24))
        if problem is not None:
            self.wrong.append((conn.number, problem))

    def step(self, conn: SoakConnection, mask: int) -> None:
        sock = conn.sock
        if mask & selectors.EVENT_WRITE and conn.sent < len(conn.payload):
            if not conn.connected:
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    raise OSError(code, os.strerror(code))
                conn.connected = True
            conn.sent += sock.send(conn.payload[conn.sent:conn.sent + 65536])
            if conn.sent == len(conn.payload):
                sock.shutdown(socket.SHUT_WR)
                self.selector.modify(sock, selectors.EVENT_READ, conn)
        if mask & selectors.EVENT_READ:
            piece = sock.recv(65536)
            if not piece:
                self.finish(conn)
            else:
                conn.received += piece

    def health(self, baseline_fds: int) -> None:
        """Stop early, saying why, when the server is broken beyond doubt."""
        server = self.server
        done = _("once {started} of {total} connections had been opened ({finished} of them "
                 "answered and closed)").format(started=self.started, total=self.total,
                                                finished=self.finished)
        expect(server.running(), _("{state} {when}").format(state=echo.state(server), when=done)
               + echo.last_output(server, 2))
        states = server.child_states()
        self.peak_children = max(self.peak_children, len(states))
        zombies = sum(state == "Z" for state in states.values())
        if zombies <= MAX_SOAK_ZOMBIES:
            self.too_many_zombies_since = None
        elif self.too_many_zombies_since is None:
            self.too_many_zombies_since = time.monotonic()
        else:
            waited = time.monotonic() - self.too_many_zombies_since
            expect(waited < scaled(REAP_DEADLINE),
                   _("{zombies} zombies, still more than {limit} after {seconds} s without new "
                     "connections, {when}").format(zombies=zombies, limit=MAX_SOAK_ZOMBIES,
                                                   seconds=f"{scaled(REAP_DEADLINE):.0f}",
                                                   when=done))
        fds = server.num_fds() or 0
        expect(fds <= baseline_fds + 100,
               _("the server's open descriptors grew from {before} to {after} {when}").format(
                   before=baseline_fds, after=fds, when=done))
        if len(self.wrong) >= 20:
            self.report_wrong()

    def report_wrong(self) -> None:
        examples = "\n".join("  " + _("connection {number}: {what}").format(number=n, what=what)
                             for n, what in sorted(self.wrong)[:3])
        fail(_("{wrong} of {finished} connections got a wrong reply or failed ({state}), for "
               "example:").format(wrong=len(self.wrong), finished=self.finished,
                                  state=echo.state(self.server)) + "\n" + examples)

    def run(self, seconds: float) -> float:
        """Run the soak: it goes on while connections keep ending, and fails
        when none has ended for STALL_SECONDS, or at `seconds` (the ceiling),
        both scaled."""
        started = time.monotonic()
        deadline = started + scaled(seconds)
        baseline_fds = self.server.num_fds() or 0
        next_check = 0.0
        last_finished, last_progress = 0, started
        try:
            while self.finished < self.total:
                now = time.monotonic()
                if self.finished != last_finished:
                    last_finished, last_progress = self.finished, now
                if now - last_progress >= scaled(STALL_SECONDS):
                    deadline_passed(_("no soak connection ended"))
                    fail(_("after {finished} of {total} connections, none ended for {seconds} s "
                           "({state}, {children})").format(
                               finished=self.finished, total=self.total,
                               seconds=f"{scaled(STALL_SECONDS):.0f}",
                               state=echo.state(self.server),
                               children=remaining_children(self.server)))
                if now >= deadline:
                    deadline_passed(_("the soak's ceiling"))
                    rate = self.finished / max(now - started, 1e-9)
                    fail(_("connections were still ending, {rate} a second, when the {seconds} s "
                           "ceiling passed: {finished} of {total} had ended ({state}, "
                           "{children})").format(
                               rate=f"{rate:.0f}", seconds=f"{scaled(seconds):.0f}",
                               finished=self.finished, total=self.total,
                               state=echo.state(self.server),
                               children=remaining_children(self.server)))
                while (self.started < self.total and self.too_many_zombies_since is None
                       and len(self.selector.get_map()) < self.at_once):
                    self.open_one()
                for key, mask in self.selector.select(timeout=0.1):
                    try:
                        self.step(key.data, mask)
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError as exc:
                        self.finish(key.data, _("the connection failed: {why}").format(
                            why=exc.strerror or exc))
                if now >= next_check:
                    self.health(baseline_fds)
                    next_check = now + 0.05
        finally:
            # A failed soak must not keep hundreds of sockets open after it.
            for key in list(self.selector.get_map().values()):
                key.fileobj.close()
            self.selector.close()
        if self.wrong:
            self.report_wrong()
        return time.monotonic() - started


@graded(points=3, hint=HINT_SOAK, requires=echo.EXCHANGE, timeout=SOAK_SECONDS + 60)
def test_soak(lab_dir, run_dir, rng):
    """soak: thousands of connections, hundreds at once, every reply exact

    2000 connections, 200 at once, every reply byte-exact, then no zombie, no descriptor left over
    """
    server = echo.start(lab_dir, run_dir)
    with echo.connect(server) as client:
        echo.check_reply(server, client, protocol.text(rng, 30))
    echo.wait_until_idle(server)
    wait_for(lambda: not server.children(), REAP_DEADLINE)
    baseline_fds = server.num_fds()
    soak = Soak(server, rng, SOAK_CONNECTIONS, SOAK_AT_ONCE)
    seconds = soak.run(SOAK_SECONDS)
    what = _("after {count} connections, {at_once} at once").format(count=SOAK_CONNECTIONS,
                                                                    at_once=SOAK_AT_ONCE)
    settled = wait_for(lambda: not server.children(), 5)
    expect(settled, _("{what}: 5 s after the last client left, the server had {children}").format(
        what=what, children=remaining_children(server)))
    fds = echo.descriptors_after_settling(server, baseline_fds)
    expect(fds is not None and baseline_fds is not None
           and fds <= baseline_fds + echo.KEPT_DESCRIPTORS,
           _("{what}: the server's open descriptors went from {before} to {after} ({state})"
             ).format(what=what, before=baseline_fds, after=fds, state=echo.state(server)))
    if SOAK_LONG:
        note(_("soak: {count} connections in {seconds} s, {at_once} at once; at most {peak} "
               "children at a time").format(count=SOAK_CONNECTIONS, seconds=f"{seconds:.1f}",
                                            at_once=SOAK_AT_ONCE, peak=soak.peak_children))
