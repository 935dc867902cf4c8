"""Driving and watching lab06's server, for its graded tests
(test_lab06_limits.py): starting it with options (start_with), a crowd of
clients through one selector (Crowd), clients in mid-conversation
(Conversation), a full house at the cap (serve_a_full_house,
leave_all_at_once), its summary line (summary_of, stop_and_read_summary),
and what tells a lost wakeup (Sleeper), a server asleep in its own wait
(InItsWait) and children ended before their grace period
(children_kept_through_the_grace).
"""

import contextlib
import re
import selectors
import signal
import socket
import time

import pytest

from grader.harness import net, observed_cause, procs
from grader.harness.expect import expect, fail
from grader.harness.timing import scaled, wait_for
from grader.i18n import _

from . import echo_server as echo
from . import fork_tests, protocol, reaping_tests


SUMMARY = re.compile(r"served (\d+) clients, at most (\d+) children at once, (\d+) stopped after "
                     r"the grace period")


# A parent asleep this long, without running once, with no child left and
# clients waiting, has lost its wakeup.
STUCK_AFTER = 1.0


# How late late_sleep.cpp starts every sleeping call in the stop race test,
# and what it prints as each delay begins.
STOP_RACE_DELAY_US = 500_000
LATE_SLEEP_SAYS = "[grader] late_sleep: a sleeping call starts late"


def start_with(lab_dir, run_dir, *options, name="server", env=None):
    """Start `server OPTIONS PORT` on a free port; fail the test if it does not listen."""
    try:
        return net.start_server(echo.server_binary(lab_dir), cwd=run_dir, log_dir=run_dir,
                                name=name, args=lambda port: [*options, str(port)], env=env)
    except net.ServerDidNotStart as exc:
        fail(_("`server {options} PORT` did not start: {why}").format(options=" ".join(options),
                                                                     why=exc))


class Crowd:
    """Many clients connected at once, each sending its payload at once and
    reading its reply, all through one selector.  A client that has its whole
    reply is closed only once `release` allows (its child then exits)."""

    def __init__(self, server, payloads):
        self.server = server
        self.selector = selectors.DefaultSelector()
        self.received = {}
        self.payloads = payloads
        self.open = {}
        self.problems = []
        for number, payload in enumerate(payloads):
            try:
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=scaled(5))
                sock.sendall(payload)
            except OSError as exc:
                self.problems.append((number, _("connect or send failed: {why}").format(
                    why=exc.strerror or exc)))
                continue
            sock.setblocking(False)
            self.received[number] = bytearray()
            self.open[number] = sock
            self.selector.register(sock, selectors.EVENT_READ, number)

    def answered(self):
        return [n for n in self.open if len(self.received[n]) >= len(self.payloads[n])]

    def step(self, timeout: float = 0.01) -> None:
        for key, _mask in self.selector.select(timeout=timeout):
            number = key.data
            try:
                piece = key.fileobj.recv(1 << 16)
            except BlockingIOError:
                continue
            except OSError as exc:
                self.problems.append((number, _("the connection failed: {why}").format(
                    why=exc.strerror or exc)))
                self.close(number)
                continue
            if not piece:
                self.problems.append((number, _("the server closed it after {got} of {owed} "
                                                "reply bytes").format(
                                                    got=len(self.received[number]),
                                                    owed=len(self.payloads[number]))))
                self.close(number)
            else:
                self.received[number] += piece

    def close(self, number: int) -> None:
        sock = self.open.pop(number)
        self.selector.unregister(sock)
        sock.close()

    def close_all(self) -> None:
        for number in list(self.open):
            self.close(number)
        self.selector.close()


class Sleeper:
    """Tells a parent that lost its wakeup from one that is only slow: asleep
    (S), without running once (its CPU time and wake-ups unchanged), for
    STUCK_AFTER seconds, with no child alive to wake it.  A parent that is
    slow because the machine is busy is runnable (R), not asleep."""

    def __init__(self, server):
        self.server = server
        self.since = None  # (when, Activity) the parent was first seen so

    def stuck(self) -> bool:
        server = self.server
        now = procs.activity(server.pid)
        asleep = (now is not None and procs.state_letter(server.pid) == "S"
                  and not server.live_children())
        if not asleep:
            self.since = None
            return False
        if self.since is None or (now.on_cpu, now.sleeps) != (self.since[1].on_cpu,
                                                              self.since[1].sleeps):
            self.since = (time.monotonic(), now)
            return False
        return time.monotonic() - self.since[0] >= STUCK_AFTER


def expect_children_kept_through_the_grace(server, children, stopped_at: float, grace: int):
    """Right after a stop signal, the children serving clients are still
    there: the grace period is theirs.  A server that ends them at once
    fails every stop test the same way: one cause."""
    if any(procs.is_live(c) for c in children):
        return
    text = _("the stop signal ended all {count} children of the server at once ({seconds} s "
             "after it), with their clients in mid-conversation: they must get the grace "
             "period of {grace} s to finish").format(
                 count=len(children), seconds=f"{time.monotonic() - stopped_at:.1f}",
                 grace=grace)
    observed_cause("stop-ends-children-at-once", text)
    fail(text)


@contextlib.contextmanager
def children_kept_through_the_grace(server, children, stopped_at: float, grace: int):
    """Looks for children ended at once twice: as the block begins, and when
    a client of the block fails before the grace period is over -- the
    server's kill may come just after the first look, on a busy machine."""
    expect_children_kept_through_the_grace(server, children, stopped_at, grace)
    try:
        yield
    except pytest.fail.Exception:
        if time.monotonic() - stopped_at < grace:
            # A child that is exiting has closed its client before it is
            # gone: give the exits a moment to show, then look.
            wait_for(lambda: not any(procs.is_live(c) for c in children), 1)
            expect_children_kept_through_the_grace(server, children, stopped_at, grace)
        raise


class Conversation:
    """A client in the middle of its exchange: it has sent a first piece and
    got its reply, the rest comes later."""

    def __init__(self, server, rng, size: int):
        self.client = echo.connect(server)
        self.first = protocol.text(rng, 40)
        echo.check_reply(server, self.client, self.first, what="a client's first reply")
        self.rest = protocol.text(rng, size)


def summary_of(server):
    """(served, at most, stopped) of the server's summary line, or None."""
    match = SUMMARY.search(server.output())
    return tuple(map(int, match.groups())) if match else None


def stop_and_read_summary(server, signo=signal.SIGINT):
    """Stop an idle server, expect status 0; its summary (served, most, stopped)."""
    server.send_signal(signo)
    code = server.wait_exit(5)
    expect(code == 0, _("stopped by {signal} with no client left, the server {ended}, not "
                        "status 0").format(signal=signal.Signals(signo).name,
                                           ended=server.describe_exit()) + echo.last_output(server))
    summary = summary_of(server)
    expect(summary is not None, _("no summary line 'served N clients, at most M children at "
                                  "once, K stopped after the grace period'")
           + echo.last_output(server))
    return summary


def serve_a_full_house(server, rng, cap: int, when: str) -> list:
    """cap clients served at once (cap children), and one more left waiting:
    the cap is exactly cap.  Returns the cap clients, still connected; the
    one more is closed."""
    clients = fork_tests.connect_clients(server, cap, rng)
    fork_tests.expect_children(server, cap, when)
    extra = echo.connect(server)
    extra.send(protocol.text(rng, 20))
    answered = not extra.nothing_arrives_within(0.3)
    extra.close()
    expect(not answered, _("{when}, a client beyond the cap of {cap} was answered: the server "
                           "ran more than {cap} children").format(when=when, cap=cap))
    return clients


def leave_all_at_once(server, clients) -> None:
    """Every client closes at once: their children exit together (one
    SIGCHLD for many); wait until the server has reaped them all."""
    for client in clients:
        client.close()
    reaped = wait_for(lambda: not server.live_children() and not server.zombie_children(), 5)
    expect(reaped, _("{count} clients left at once; 5 s later the server still had {children}"
                     ).format(count=len(clients),
                              children=reaping_tests.remaining_children(server)))


class InItsWait:
    """A predicate: the server sleeps in its own wait (ppoll, sigsuspend, poll...),
    past the shim's delay (a nanosleep) that starts it.  Where the kernel
    does not say where a process sleeps: asleep for longer than the delay."""

    def __init__(self, server, delay_us: int = STOP_RACE_DELAY_US):
        self.server = server
        self.delay_us = delay_us
        self.asleep_since = None

    def __call__(self) -> bool:
        if procs.state_letter(self.server.pid) != "S":
            self.asleep_since = None
            return False
        where = procs.waiting_in(self.server.pid)
        if where:
            return "nanosleep" not in where
        now = time.monotonic()
        self.asleep_since = self.asleep_since or now
        return now - self.asleep_since > self.delay_us / 1e6 + 0.1
