"""Driving and watching lab08's server, for its graded tests
(test_lab08_prefork.py): starting it with options (start_with), its pool
of workers counted and named (expect_workers, worker_of), clients queued
beyond the pool and served (Queue, serve_queue), clients in
mid-conversation during the stop (Conversation) and its summary line
(summary_of).
"""

import re
import selectors
import socket
import time

from grader.harness import net, procs
from grader.harness.expect import expect, fail
from grader.harness.timing import STALL_SECONDS, deadline_passed, scaled, wait_for
from grader.i18n import _

from . import echo_server as echo
from . import protocol
from .protocol import expect_reply

# How soon a dead worker must be reaped and replaced (seconds, scaled).
REPLACED_WITHIN = 1.0

SUMMARY = re.compile(r"started (\d+) workers, (\d+) killed after the grace period")


def start_with(lab_dir, run_dir, *options, name="server", env=None):
    """Start `server OPTIONS PORT` on a free port; fail the test if it does not listen."""
    try:
        return net.start_server(echo.server_binary(lab_dir), cwd=run_dir, log_dir=run_dir,
                                name=name, args=lambda port: [*options, str(port)], env=env)
    except net.ServerDidNotStart as exc:
        fail(_("`server {options} PORT` did not start: {why}").format(options=" ".join(options),
                                                                     why=exc))


def expect_workers(server, count: int, when: str) -> list:
    """Wait until the server has exactly `count` children, all running (no
    zombie), and its parent sleeps -- done forking, so the count is the one
    it means to keep; returns their pids, or fails saying what it had."""
    def right():
        states = server.child_states()
        return (len(states) == count and "Z" not in states.values()
                and procs.state_letter(server.pid) == "S" and server.child_states() == states)
    wait_for(right, STALL_SECONDS)  # a state, not a promise of speed: the kit's 5 s
    states = server.child_states()
    if right():
        return sorted(states)
    zombies = sum(state == "Z" for state in states.values())
    fail(_("{when}, the server had {children} child process(es), {zombies} of them zombies, "
           "not {count} running workers ({state})").format(
               when=when, children=len(states), zombies=zombies, count=count,
               state=echo.state(server)) + echo.last_output(server))


def worker_of(server, client: net.Client):
    """The pid of the server's process that holds the client's connection (the
    worker serving it), the parent's pid if the parent holds it, or None."""
    port = client.local_port()
    for pid in [server.pid] + sorted(server.child_states()):
        if net.connection_state(pid, port) is not None:
            return pid
    return None


class Queue:
    """Many clients at once, each sending its payload, closing its side
    (SHUT_WR) and reading its reply until the server closes: with fewer
    workers than clients, the others wait in the listen backlog."""

    def __init__(self, server, payloads):
        self.selector = selectors.DefaultSelector()
        self.payloads = payloads
        self.received = {}
        self.problems = []
        self.open = 0
        for number, payload in enumerate(payloads):
            try:
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=scaled(5))
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
            except OSError as exc:
                self.problems.append((number, _("connect or send failed: {why}").format(
                    why=exc.strerror or exc)))
                continue
            sock.setblocking(False)
            self.received[number] = bytearray()
            self.selector.register(sock, selectors.EVENT_READ, number)
            self.open += 1

    def step(self, timeout: float = 0.01) -> bool:
        """Read what came; True if a connection ended."""
        ended = False
        for key, _mask in self.selector.select(timeout=timeout):
            number = key.data
            try:
                piece = key.fileobj.recv(1 << 16)
            except BlockingIOError:
                continue
            except OSError as exc:
                self.problems.append((number, _("the connection failed: {why}").format(
                    why=exc.strerror or exc)))
                piece = b""
            if piece:
                self.received[number] += piece
                continue
            self.selector.unregister(key.fileobj)
            key.fileobj.close()
            self.open -= 1
            ended = True
        return ended

    def close(self) -> None:
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()
        self.selector.close()


def serve_queue(server, rng, count: int, watch=None) -> None:
    """count clients at once against the server; watch(server) is called at
    each step.  Fails unless every one got its whole reply, byte-exact."""
    payloads = [protocol.text(rng, rng.randint(50, 3000)) for _ in range(count)]
    queue = Queue(server, payloads)
    last_progress = time.monotonic()
    try:
        while queue.open:
            if watch is not None:
                watch(server)
            if queue.step():
                last_progress = time.monotonic()
            expect(server.running(), _("{state} while {count} clients were served").format(
                state=echo.state(server), count=count) + echo.last_output(server))
            if time.monotonic() - last_progress > scaled(STALL_SECONDS):
                deadline_passed(_("no client of the queue got its reply"))
                fail(_("{done} of {count} clients had their reply, and no other got one for "
                       "{seconds} s ({state}, {children} children)").format(
                           done=count - queue.open, count=count,
                           seconds=f"{scaled(STALL_SECONDS):.0f}", state=echo.state(server),
                           children=len(server.children())))
    finally:
        queue.close()
    for number, problem in sorted(queue.problems)[:1]:
        fail(_("{problems} of {count} clients were refused or cut off; client {number}: "
               "{problem} ({state})").format(problems=len(queue.problems), count=count,
                                             number=number + 1, problem=problem,
                                             state=echo.state(server)))
    for number, payload in enumerate(payloads):
        expect_reply(payload, bytes(queue.received[number]),
                     what=_("client {number} of {count}: the reply").format(number=number + 1,
                                                                            count=count))


class Conversation:
    """A client in the middle of its exchange: it has sent a first piece and
    got its reply, the rest comes later."""

    def __init__(self, server, rng, size: int):
        self.client = echo.connect(server)
        self.first = protocol.text(rng, 40)
        echo.check_reply(server, self.client, self.first)
        self.rest = protocol.text(rng, size)


def summary_of(server):
    match = SUMMARY.search(server.output())
    return tuple(int(n) for n in match.groups()) if match else None
