"""Driving and watching lab07's server, for its graded tests
(test_lab07_events.py): starting it with options or limits (start_with,
start_with_full_sockets), what proves one process (expect_one_process), many
clients talking at once through one selector (Talkers), its memory (rss),
clients in mid-conversation during the stop (Conversation), its summary line
(summary_of), and a server asleep in its own wait (in_its_wait).
"""

import os
import re
import resource
import selectors
import socket
import time

import psutil

from grader.harness import net
from grader.harness.expect import expect, fail
from grader.harness.kit import _N
from grader.harness.timing import STALL_SECONDS, deadline_passed, scaled
from grader.i18n import _

from . import echo_server as echo
from . import limits_server, protocol
from .protocol import expect_reply


# The grace period of the stop, kGraceSeconds in server.h.
GRACE = 3
# Back-pressure: a client that never reads may cost the server at most this
# much memory (kMaxPending is 64 KiB; the rest is the allocator's slack).
MAX_GROWTH = 16 << 20
# What the slow reader tries to send without reading.
FLOOD = 48 << 20
# Idle clients at once.  The grader runs a server with at most 1024
# descriptors (harness/sandbox.py): 1000 clients, the listening socket, the
# self-pipe and stdin, stdout, stderr fit.
IDLE_CLIENTS = 1000
# The soft limit the idle test starts the server with (the hard one stays
# the sandbox's): raise_descriptor_limit must lift it.
SOFT_LIMIT = 256


def start_with(lab_dir, run_dir, *options, limits=None, env=None, name="server"):
    """Start `server OPTIONS PORT` on a free port; fail the test if it does not listen."""
    try:
        return net.start_server(echo.server_binary(lab_dir), cwd=run_dir, log_dir=run_dir,
                                name=name, args=lambda port: [*options, str(port)],
                                limits=limits, env=env)
    except net.ServerDidNotStart as exc:
        fail(_("`server {options} PORT` did not start: {why}").format(options=" ".join(options),
                                                                     why=exc))


def expect_one_process(server, when: str) -> None:
    """No child process and no second thread, now."""
    children = server.children()
    expect(not children, _("{when}, the server had {count} child process(es): pid {pids}").format(
        when=when, count=len(children), pids=", ".join(str(c.pid) for c in children)))
    proc = server.process()
    try:
        threads = proc.num_threads() if proc else 1
    except psutil.NoSuchProcess:
        threads = 1
    expect(threads == 1, _("{when}, the server had {count} threads").format(when=when,
                                                                           count=threads))


def own_descriptors(needed: int) -> None:
    """The grader itself may hold `needed` more sockets (its soft limit raised
    to the hard one if needed)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


class Talkers:
    """Clients talking at once through one selector: each sends its payload in
    pieces whose sizes the rng picks (odd boundaries, interleaved with the
    others'), reads its reply meanwhile, and may half-close once all is sent."""

    def __init__(self, server, payloads, rng, half_close=False, socks=None):
        self.server = server
        self.payloads = payloads
        self.rng = rng
        self.half_close = half_close
        self.selector = selectors.DefaultSelector()
        self.sent = [0] * len(payloads)
        self.received = [bytearray() for _ in payloads]
        self.ended = [False] * len(payloads)
        self.problems = []
        self.socks = socks or [self._connect(n) for n in range(len(payloads))]
        for number, sock in enumerate(self.socks):
            if sock is None:
                continue
            sock.setblocking(False)
            self.selector.register(sock, self._events(number), number)

    def _connect(self, number):
        try:
            return socket.create_connection(("127.0.0.1", self.server.port), timeout=scaled(5))
        except OSError as exc:
            self.problems.append((number, _("connect failed: {why}").format(
                why=exc.strerror or exc)))
            return None

    def _events(self, number):
        writing = self.sent[number] < len(self.payloads[number])
        return selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0)

    def done(self) -> bool:
        return all(self.ended[n] or self.socks[n] is None or
                   (not self.half_close and len(self.received[n]) >= len(self.payloads[n]))
                   for n in range(len(self.payloads)))

    def moved(self) -> int:
        return sum(self.sent) + sum(len(r) for r in self.received)

    def step(self, timeout: float = 0.05) -> None:
        for key, mask in self.selector.select(timeout=timeout):
            number, sock = key.data, key.fileobj
            if mask & selectors.EVENT_WRITE:
                self._send(number, sock)
            if mask & selectors.EVENT_READ and not self.ended[number]:
                self._receive(number, sock)

    def _send(self, number, sock):
        payload, start = self.payloads[number], self.sent[number]
        piece = payload[start:start + self.rng.randint(1, 9000)]
        try:
            self.sent[number] += sock.send(piece)
        except BlockingIOError:
            return
        except OSError as exc:
            self._end(number, sock, _("send failed: {why}").format(why=exc.strerror or exc))
            return
        if self.sent[number] == len(payload):
            if self.half_close:
                sock.shutdown(socket.SHUT_WR)
            self.selector.modify(sock, self._events(number), number)

    def _receive(self, number, sock):
        try:
            piece = sock.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError as exc:
            self._end(number, sock, _("the connection failed: {why}").format(
                why=exc.strerror or exc))
            return
        if piece:
            self.received[number] += piece
            return
        if len(self.received[number]) < len(self.payloads[number]):
            self._end(number, sock, _("the server closed it after {got} of {owed} reply "
                                      "bytes").format(got=len(self.received[number]),
                                                      owed=len(self.payloads[number])))
        else:
            self._end(number, sock, None)

    def _end(self, number, sock, problem):
        if problem:
            self.problems.append((number, problem))
        self.ended[number] = True
        self.selector.unregister(sock)

    def run(self, watch=None) -> None:
        """Until every client is done; fail once nothing moved for the stall
        time.  watch(): called at every step (a check of the server)."""
        last, last_move = -1, time.monotonic()
        while not self.done():
            if self.moved() != last:
                last, last_move = self.moved(), time.monotonic()
            elif time.monotonic() - last_move > scaled(STALL_SECONDS):
                deadline_passed(_("no client moved a byte"))
                waiting = sum(1 for n in range(len(self.payloads)) if not self.ended[n])
                fail(_("{waiting} of {count} clients waited, and no byte moved for {seconds} s "
                       "({state})").format(waiting=waiting, count=len(self.payloads),
                                           seconds=f"{scaled(STALL_SECONDS):.0f}",
                                           state=echo.state(self.server))
                     + echo.last_output(self.server))
            if watch:
                watch()
            self.step()

    def check(self) -> None:
        for number, problem in sorted(self.problems)[:1]:
            fail(_("{problems} of {count} clients failed; client {number}: {problem} "
                   "({state})").format(problems=len(self.problems), count=len(self.payloads),
                                       number=number + 1, problem=problem,
                                       state=echo.state(self.server)))
        for number, payload in enumerate(self.payloads):
            expect_reply(payload, bytes(self.received[number]),
                         what=_("client {number} of {count}: the reply").format(
                             number=number + 1, count=len(self.payloads)))

    def close(self) -> None:
        self.selector.close()
        for sock in self.socks:
            if sock is not None:
                sock.close()


# ------------------------------------------------------------ the command line


def rss(server):
    proc = server.process()
    try:
        return proc.memory_info().rss if proc else None
    except psutil.NoSuchProcess:
        return None


def start_with_full_sockets(lab_dir, run_dir, preload):
    """The server with grader/support/full_socket.cpp preloaded: two writes
    in three to a client fail with EAGAIN, the third takes at most 7 bytes."""
    env = dict(os.environ, LD_PRELOAD=str(preload("full_socket")))
    return echo.start(lab_dir, run_dir, env=env)


class Conversation:
    """A client in the middle of its exchange: it has sent a first piece and
    got its reply, the rest comes later."""

    def __init__(self, server, rng, size: int):
        self.client = echo.connect(server)
        self.first = protocol.text(rng, 40)
        echo.check_reply(server, self.client, self.first, what=_N("a client's first reply"))
        self.rest = protocol.text(rng, size)


def summary_of(server):
    match = re.search(r"served (\d+) clients, at most (\d+) at once, (\d+) cut off after the "
                      r"grace period", server.output())
    return tuple(map(int, match.groups())) if match else None


# How late late_sleep.cpp starts every sleeping call in the stop race test,
# and what it prints as each delay begins.
STOP_RACE_DELAY_US = 2_000_000
LATE_SLEEP_SAYS = "[grader] late_sleep: a sleeping call starts late"


def in_its_wait(server):
    """limits_server.InItsWait with lab07's shim delay: the server asleep in
    its own poll, past the nanosleep that starts it."""
    return limits_server.InItsWait(server, STOP_RACE_DELAY_US)
