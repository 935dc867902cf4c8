"""lab06_limits: a forking server that knows its limits.

`server [-n MAX_CHILDREN] [-g GRACE_SECONDS] [PORT]`.  Graded on top of the
checks of labs 02-04 that apply unchanged (bound from checks/: the server
tests, fork_tests.py and reaping_tests.py, run with the default cap),
plus its own: never more than -n children, no CPU used while it waits at
the cap, no lost wakeup between checking the count and sleeping, a graceful
stop on SIGTERM or SIGINT, and the new command line.

No test sleeps to synchronise: each polls for the state it needs with a
deadline.  Claims about the server are measured on the server: at the cap,
its CPU time, its time waiting for a CPU and its wake-ups (procs.activity),
not the wall clock of a machine that may be busy.  The lost-wakeup test
cannot stop the server at the one instruction where the race lies, so it
puts the child's exit there: a preloaded library
(grader/support/late_sleep.cpp) holds every call that sleeps until a signal
until a child has exited, and the test fails a parent seen asleep, without
running once, with no child left and clients waiting.
"""

import os
import re
import selectors
import signal
import socket
import time

from grader.harness import diagnose, graded, net, procs
from grader.harness.expect import expect, fail, show
from grader.harness.scoring import title_of
from grader.harness.timing import STALL_SECONDS, deadline_passed, scaled, wait_for
from grader.harness.kit import _N
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

from checks.build_tests import builds_test
from checks import (
    startup_tests as startup, reply_tests as replies, leaving_tests as leaving, log_tests as log
)
from checks import echo_server as echo
from checks import protocol
from checks.protocol import expect_reply, uppercase
from checks import fork_tests
from checks import reaping_tests

LAB = "lab06_limits"

# pytest runs the tests of a module in the order their names are bound here.
test_builds = builds_test()
test_server_starts = startup.test_server_starts
test_port_in_use = startup.test_port_in_use
test_one_client = replies.test_one_client
test_clients_one_after_another = replies.test_clients_one_after_another
test_megabytes = replies.test_megabytes
test_every_byte_value = replies.test_every_byte_value
test_clients_that_disconnect = leaving.test_clients_that_disconnect
test_client_gone_while_written_to = leaving.test_client_gone_while_written_to
test_log_lines = log.test_log_lines
test_idle_client_delays_nobody = fork_tests.test_idle_client_delays_nobody
test_one_child_per_client = fork_tests.test_one_child_per_client
test_parent_closes_connfd = fork_tests.test_parent_closes_connfd
test_child_closes_listenfd = fork_tests.test_child_closes_listenfd
test_children_reaped = reaping_tests.test_children_reaped
test_many_exit_at_once = reaping_tests.test_many_exit_at_once
test_killed_child_reaped = reaping_tests.test_killed_child_reaped
test_fork_failure = reaping_tests.test_fork_failure
test_soak = reaping_tests.test_soak

# Every cause the harness knows, the opt-in ones too: a lab06 server asleep
# with no child while clients wait has a count that never went down.
CAUSES = diagnose.KINDS
CAUSE_HINTS = {
    "asleep-alone": _N("The count of running children never went down: the main loop must "
                       "reap (reap_children after every wake-up of sigsuspend and ppoll) and "
                       "remove each pid waitpid returns. A SIGCHLD handler that reaps takes the "
                       "pids the count never sees, and the server waits at the cap for exits "
                       "that have already happened."),
}

# lab06's own words for the tests of labs 03-04 it grades again: its main
# loop reaps (reap_children after each wake-up), where lab04's handler did;
# a handler that reaps here would take pids the count never sees.
HINTS = {
    title_of(reaping_tests.test_children_reaped): _N(
        "In lab06 the main loop reaps, not the handler: note_signal only arrives, and after every "
        "wake-up (sigsuspend, ppoll) the loop calls reap_children -- while ((pid = waitpid(-1, "
        "nullptr, WNOHANG)) > 0), each pid removed from the running set. A handler that reaps "
        "takes pids the count never sees (a child is waited for once: wait(2)), and the server "
        "sticks at the cap."),
    title_of(reaping_tests.test_many_exit_at_once): _N(
        "Signals do not queue: one SIGCHLD can stand for many exits. reap_children loops -- "
        "while, not if -- until waitpid(-1, nullptr, WNOHANG) returns 0, after every wake-up of "
        "the main loop."),
    title_of(reaping_tests.test_killed_child_reaped): _N(
        "reap_children takes every child however it ended: waitpid returns the killed ones as "
        "well as those that exited; remove each pid it returns from the running set."),
    title_of(reaping_tests.test_fork_failure): _N(
        "fork_child: when fork() returns -1, log the error, Close(connfd) (that client sees end "
        "of file) and return -1; the main loop then calls back_off and goes on -- no add_child "
        "for a fork that failed, and never exit."),
    title_of(reaping_tests.test_soak): _N(
        "Everything at once: Writen for every reply, Close(connfd) in the parent, reap_children "
        "with a while loop and WNOHANG after every wake-up, SIGCHLD blocked except inside "
        "sigsuspend and ppoll. The observed line says what broke first."),
}
DESCRIPTIONS = {
    title_of(reaping_tests.test_children_reaped): _N(
        "4 clients leave one by one: after the wake-up each `SIGCHLD` causes, the main loop "
        "reaps the child (`reap_children`)"),
    title_of(reaping_tests.test_many_exit_at_once): _N(
        "20 children exit while the parent is paused: one signal for all, `while` not `if` in "
        "`reap_children`"),
}

SUMMARY = re.compile(r"served (\d+) clients, at most (\d+) children at once, (\d+) stopped after "
                     r"the grace period")

HINT_USAGE = _N("options_from_args: getopt(argc, argv, \"n:g:\"); -n takes a number from 1 to "
                "4096, -g one from 0 to 3600 (check the whole argument: std::from_chars, or "
                "strtol and its end pointer); then at most one operand, the port. Anything else: "
                "a usage message on stderr ('usage: server [-n MAX_CHILDREN] [-g GRACE_SECONDS] "
                "[PORT]') and exit(2).")
HINT_CAP = _N("Before each accept, wait_for_free_slot: while children.running.size() >= cap, sleep "
              "until a child exits, then reap. The count goes up in add_child after each fork and "
              "down only when waitpid has reaped the child -- a zombie still holds its slot. The "
              "clients beyond the cap wait in the listen backlog: never refuse or close them.")
HINT_CPU = _N("At the cap, sleep until SIGCHLD: sigsuspend(&wait_mask) (or ppoll with the mask). "
              "A loop that calls waitpid(..., WNOHANG) until a slot is free, or polls with a "
              "timeout, keeps a CPU busy while nothing happens.")
HINT_LOST_WAKEUP = _N("The lost wakeup: the count is checked, a child exits and its SIGCHLD is "
                      "handled, and only then does the parent call pause() -- which sleeps until "
                      "the next signal, maybe for ever, with a free slot and clients waiting. Keep "
                      "SIGCHLD blocked while you check the count, and let it in only inside the "
                      "call that sleeps: sigsuspend(&wait_mask) or ppoll(..., &wait_mask) do both "
                      "in one step (README: the race).")
HINT_STOP = _N("On SIGTERM or SIGINT (the handler only sets g_stop_signal): leave the accept loop, "
               "Close(listenfd) at once so new clients are refused, let the children finish within "
               "-g seconds (ppoll with a timeout and the wait mask, reaping after each wake-up), "
               "then kill(pid, SIGTERM) each child still running, reap every one, print the "
               "summary line and return 0 from main. Each child must restore SIGTERM's default "
               "action and unblock it (restore_signals_in_child), or it ignores the SIGTERM.")
HINT_SIGINT = _N("SIGINT stops the server like SIGTERM: with no client it closes the listening "
                 "socket, prints 'served 0 clients, at most 0 children at once, 0 stopped after "
                 "the grace period' and exits with status 0 at once.")

# The parent at the cap is watched this long (seconds, not scaled: what it
# does in that time is its own, however busy the machine): it may want a CPU
# for at most this share of it, and wake up at most this many times.
AT_THE_CAP_WINDOW = 1.0

# Connections of the lost-wakeup test: the shim makes every one of them a
# chance to lose the wakeup, and a server that loses it stays stuck.
LOST_WAKEUP_CLIENTS = 200
MAX_CPU_SHARE_AT_THE_CAP = 0.05
MAX_WAKEUPS_AT_THE_CAP = 2

# The grace period of the stop test, in seconds: long enough for its clients
# to finish on a busy machine.
GRACE = 2

# A parent asleep this long, without running once, with no child left and
# clients waiting, has lost its wakeup.
STUCK_AFTER = 1.0


def start_with(lab_dir, run_dir, *options, name="server", env=None):
    """Start `server OPTIONS PORT` on a free port; fail the test if it does not listen."""
    try:
        return net.start_server(echo.server_binary(lab_dir), cwd=run_dir, log_dir=run_dir,
                                name=name, args=lambda port: [*options, str(port)], env=env)
    except net.ServerDidNotStart as exc:
        fail(_("`server {options} PORT` did not start: {why}").format(options=" ".join(options),
                                                                     why=exc))


@graded(points=1, hint=HINT_USAGE)
def test_bad_arguments(lab_dir, run_dir):
    """bad arguments (-n, -g, PORT): a usage message and exit status 2

    `getopt`, each number checked whole; usage and exit status 2
    """
    startup.expect_usage_errors(
        lab_dir, run_dir,
        (["-n", "0"], ["-n", "abc"], ["-n"], ["-n", "-3"], ["-n", "4x"], ["-g", "x"], ["-g", "-1"],
         ["-x"], ["abc"], ["0"], ["65536"], ["80x"], [""], ["6666", "6667"],
         ["-n", "4", "-g", "2", "6666", "6667"]))


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


@graded(points=3, hint=HINT_CAP, requires=echo.SERVER_STARTS)
def test_cap_on_children(lab_dir, run_dir, rng):
    """never more than -n 4 children: 50 clients at once, all served byte-exact, none refused

    the others wait in the backlog; at no sample more than 4 children, zombies included
    """
    cap, count = 4, 50
    server = start_with(lab_dir, run_dir, "-n", str(cap))
    payloads = [protocol.text(rng, rng.randint(50, 3000)) for _ in range(count)]
    crowd = Crowd(server, payloads)
    peak, over, done, last_answered = 0, None, 0, 0
    # Answered clients stay connected until the server has been seen with
    # `cap` children (or a few seconds passed): its children then live long
    # enough to be counted.
    hold_until = time.monotonic() + scaled(5)
    last_progress, last_done = time.monotonic(), 0
    try:
        while crowd.open:
            if done != last_done or len(crowd.answered()) != last_answered:
                last_progress, last_done = time.monotonic(), done
            last_answered = len(crowd.answered())
            if time.monotonic() - last_progress > scaled(STALL_SECONDS):
                deadline_passed("no client of the crowd got its reply")
                fail(_("{done} of {count} clients had their reply, and no other got one for "
                       "{seconds} s ({state}, {children} children)").format(
                           done=done, count=count, seconds=f"{scaled(STALL_SECONDS):.0f}",
                           state=echo.state(server), children=len(server.children()))
                     + echo.last_output(server))
            expect(server.running(), _("{state} after {done} of {count} clients had their reply"
                                       ).format(state=echo.state(server), done=done, count=count)
                   + echo.last_output(server))
            states = server.child_states()
            peak = max(peak, len(states))
            if len(states) > cap and over is None:
                over = states
            crowd.step()
            if peak >= cap or time.monotonic() > hold_until:
                for number in crowd.answered():
                    crowd.close(number)
                    done += 1
    finally:
        crowd.close_all()
    if over is not None:
        zombies = sum(state == "Z" for state in over.values())
        fail(_("`server -n {cap}` had {children} children at once ({zombies} of them zombies "
               "not reaped yet), more than {cap}, with {count} clients waiting").format(
                   cap=cap, children=len(over), zombies=zombies, count=count))
    for number, problem in sorted(crowd.problems)[:1]:
        fail(_("{problems} of {count} clients were refused or cut off; client {number}: "
               "{problem} ({state})").format(problems=len(crowd.problems), count=count,
                                             number=number + 1, problem=problem,
                                             state=echo.state(server)))
    for number, payload in enumerate(payloads):
        expect_reply(payload, bytes(crowd.received[number]),
                     what=_("client {number} of {count}: the reply").format(number=number + 1,
                                                                            count=count))
    expect(peak == cap, _("`server -n {cap}` never had more than {peak} children at once while "
                          "{count} clients waited: it serves fewer at once than it may").format(
                              cap=cap, peak=peak, count=count))


@graded(points=2, hint=HINT_CPU, requires=echo.SERVER_STARTS)
def test_no_cpu_at_the_cap(lab_dir, run_dir, rng):
    """at the cap it sleeps: no CPU used while it waits for a free slot

    over 1 s at the cap the parent neither runs nor waits for a CPU (schedstat) and wakes at most
    twice; the waiting client is answered once a child leaves
    """
    server = start_with(lab_dir, run_dir, "-n", "2")
    clients = fork_tests.connect_clients(server, 2, rng)
    waiting = echo.connect(server)
    data = protocol.text(rng, 30)
    waiting.send(data)
    # A parent that sleeps at the cap is asleep by now; one that spins never is.
    wait_for(lambda: procs.state_letter(server.pid) == "S", 1)
    before = procs.activity(server.pid)
    answered = not waiting.nothing_arrives_within(AT_THE_CAP_WINDOW)
    after = procs.activity(server.pid)
    expect(not answered,
           _("`server -n 2` with 2 clients connected answered a 3rd one: it did not wait for a "
             "free slot"))
    expect(before is not None and after is not None, echo.state(server))
    spent = after.since(before)
    expect(spent.wanted_cpu <= MAX_CPU_SHARE_AT_THE_CAP,
           _("at the cap (2 children, a 3rd client waiting) the server was running or waiting "
             "for a CPU {share} of the time for {seconds} s (it used {cpu} s of CPU): it keeps "
             "checking instead of sleeping until SIGCHLD").format(
                 share=f"{spent.wanted_cpu:.0%}", seconds=f"{spent.seconds:.1f}",
                 cpu=f"{spent.cpu:.2f}"))
    expect(spent.wakeups <= MAX_WAKEUPS_AT_THE_CAP,
           _("at the cap (2 children, a 3rd client waiting, no child exiting) the server woke "
             "up {count} times in {seconds} s: it polls instead of sleeping until SIGCHLD").format(
                 count=spent.wakeups, seconds=f"{spent.seconds:.1f}"))
    clients[0].close()
    received = waiting.recv_exactly(len(data))
    expect(received == uppercase(data),
           _("after one of the 2 clients left, the waiting client got {got} of {owed} reply "
             "bytes ({ended}): the server did not resume accepting when a slot became free "
             "({state})").format(got=len(received), owed=len(data),
                                 ended=waiting.waited.describe(), state=echo.state(server)))
    for client in clients[1:] + [waiting]:
        client.close()


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


@graded(points=3, hint=HINT_LOST_WAKEUP, requires=echo.SERVER_STARTS)
def test_no_lost_wakeup(lab_dir, run_dir, rng, preload):
    """no lost wakeup: children exiting as the parent goes to sleep never leave it stuck

    200 clients against `-n 1`; every sleeping call (`pause`, `sigsuspend`, `ppoll`...) starts
    only once a child has exited; the parent must never sleep with no child and clients waiting
    """
    # With -n 1 every child is the last one: if its SIGCHLD is lost, nothing
    # else will wake the parent.  The shim holds each sleeping call until a
    # child has exited, so the SIGCHLD comes between the parent's check of
    # the count and its sleep every time, however busy the machine: kept
    # blocked across that way, it stays pending; let in, it is lost.
    env = dict(os.environ, LD_PRELOAD=str(preload("late_sleep")))
    server = start_with(lab_dir, run_dir, "-n", "1", env=env)
    total, in_flight = LOST_WAKEUP_CLIENTS, 8
    selector = selectors.DefaultSelector()
    sleeper = Sleeper(server)
    started = finished = 0
    last_progress = time.monotonic()
    try:
        while finished < total:
            while started < total and len(selector.get_map()) < in_flight:
                sock = socket.create_connection(("127.0.0.1", server.port), timeout=scaled(5))
                sock.sendall(b"x")
                sock.shutdown(socket.SHUT_WR)
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ, bytearray())
                started += 1
            for key, _mask in selector.select(timeout=0.05):
                try:
                    piece = key.fileobj.recv(64)
                except BlockingIOError:
                    continue
                except OSError:
                    piece = b""
                if piece:
                    key.data.extend(piece)
                    continue
                reply = bytes(key.data)
                selector.unregister(key.fileobj)
                key.fileobj.close()
                finished += 1
                last_progress = time.monotonic()
                expect(reply == b"X", f"connection {finished} of {total}: the reply was "
                                      f"{show(reply)}, not b'X' ({echo.state(server)})")
            expect(server.running(), f"{echo.state(server)} after {finished} of {total} "
                                     f"connections{echo.last_output(server)}")
            if sleeper.stuck():
                deadline_passed("the server slept with clients waiting")
                zombies = len(server.zombie_children())
                fail(_("after {finished} of {total} connections, `server -n 1` slept for {seconds} "
                       "s without running once, with no running child and {zombies} zombie(s), "
                       "while {waiting} clients waited: the SIGCHLD of its last child came "
                       "between its check of the count and its sleep, and was lost").format(
                           finished=finished, total=total, seconds=f"{STUCK_AFTER:.0f}",
                           zombies=zombies, waiting=len(selector.get_map())))
            if time.monotonic() - last_progress > scaled(STALL_SECONDS):
                deadline_passed("no connection ended")
                fail(_("after {finished} of {total} connections, no connection ended for {seconds} "
                       "s ({state}, {children} child(ren))").format(
                           finished=finished, total=total, seconds=f"{scaled(STALL_SECONDS):.0f}",
                           state=echo.state(server), children=len(server.children())))
    finally:
        for key in list(selector.get_map().values()):
            key.fileobj.close()
        selector.close()


class Conversation:
    """A client in the middle of its exchange: it has sent a first piece and
    got its reply, the rest comes later."""

    def __init__(self, server, rng, size: int):
        self.client = echo.connect(server)
        self.first = protocol.text(rng, 40)
        echo.check_reply(server, self.client, self.first, what="a client's first reply")
        self.rest = protocol.text(rng, size)


@graded(points=3, hint=HINT_STOP, requires=echo.SERVER_STARTS, timeout=90)
def test_graceful_stop(lab_dir, run_dir, rng):
    """SIGTERM under load: grace for the clients served, port closed at once, exit 0, no child left

    Clients that finish within the grace period get their whole reply; the
    one still idle is ended after it; the summary line counts them."""
    grace = max(GRACE, round(scaled(GRACE)))
    server = start_with(lab_dir, run_dir, "-n", "4", "-g", str(grace))
    port = server.port
    finishers = [Conversation(server, rng, 20_000) for _ in range(3)]
    lingerer = Conversation(server, rng, 10)
    children = fork_tests.expect_children(server, 4, "with 4 clients connected")
    server.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    closed = wait_for(lambda: not net.is_listening(server.pid, port) or not server.running(), 1)
    expect(server.running() or closed,
           _("the server {ended} at once on SIGTERM, with 4 clients being served").format(
               ended=server.describe_exit()) + echo.last_output(server))
    expect(closed, _("{seconds} s after SIGTERM the server still listened on port {port}: new "
                     "clients must be refused at once (Close(listenfd))").format(
                         seconds=f"{scaled(1):.0f}", port=port))
    expect(net.connection_refused(port),
           _("a new client could still connect to port {port} after SIGTERM").format(port=port))
    serving = [c for c in children if procs.is_live(c)]
    expect(serving, _("SIGTERM ended all 4 children of the server at once ({seconds} s after "
                      "it), with their clients in mid-conversation: they must get the grace "
                      "period of {grace} s to finish").format(
                          seconds=f"{time.monotonic() - stopped_at:.1f}", grace=grace))
    for number, talk in enumerate(finishers, start=1):
        what = _("client {number} of 3 finishing within the grace period: the rest of its "
                 "reply").format(number=number)
        echo.check_reply(server, talk.client, talk.rest, what=what)
        talk.client.sock.shutdown(socket.SHUT_WR)
        _data, eof = talk.client.read_until_eof()
        expect(eof, _("client {number} had half-closed after its reply; its connection was "
                      "still open: {ended}").format(number=number,
                                                     ended=talk.client.waited.describe()))
        talk.client.close()
    _data, eof = lingerer.client.read_until_eof(stall=grace + 10)
    ended_after = time.monotonic() - stopped_at
    expect(eof, _("the idle client was still connected {seconds} s after SIGTERM, with a grace "
                  "period of {grace} s: its child was never stopped").format(
                      seconds=f"{ended_after:.1f}", grace=grace))
    expect(ended_after >= grace - 0.5,
           _("the idle client's connection ended {seconds} s after SIGTERM, before the grace "
             "period of {grace} s was over").format(seconds=f"{ended_after:.1f}", grace=grace))
    lingerer.client.close()
    code = server.wait_exit(10)
    expect(code is not None, _("the server was still running {seconds} s after SIGTERM with a "
                               "grace period of {grace} s").format(
                                   seconds=f"{grace + scaled(10):.0f}", grace=grace))
    expect(code == 0, _("after SIGTERM the server {ended}, not status 0").format(
        ended=server.describe_exit()) + echo.last_output(server))
    left = [c.pid for c in children if procs.status_of(c) is not None]
    expect(not left, _("the server exited, but {count} of its children (pid {pids}) were still "
                       "there (running, or zombies never reaped)").format(
                           count=len(left), pids=", ".join(map(str, left))))
    match = SUMMARY.search(server.output())
    expect(match, _("no summary line 'served N clients, at most M children at once, K stopped "
                    "after the grace period'") + echo.last_output(server))
    served, most, stopped = map(int, match.groups())
    expect((served, most, stopped) == (4, 4, 1),
           _("the summary said served {served}, at most {most} at once, {stopped} stopped "
             "after the grace period; this test had 4 clients, 4 at once, 1 still idle at the "
             "end").format(served=served, most=most, stopped=stopped))


@graded(points=1, hint=HINT_SIGINT, requires=echo.SERVER_STARTS)
def test_sigint_when_idle(lab_dir, run_dir):
    """SIGINT with no client: exits 0 at once, with the summary line

    `SIGINT` stops it like `SIGTERM`: exit status 0 and `served 0 clients, ...`
    """
    server = start_with(lab_dir, run_dir, "-g", "30")
    server.send_signal(signal.SIGINT)
    code = server.wait_exit(5)
    expect(code is not None, _("{seconds} s after SIGINT the server, with no client and no "
                               "child, was still running").format(seconds=f"{scaled(5):.0f}"))
    expect(code == 0, _("after SIGINT the server {ended}, not status 0").format(
        ended=server.describe_exit()))
    match = SUMMARY.search(server.output())
    expect(match and match.groups() == ("0", "0", "0"),
           _("after SIGINT with no client the summary line was missing or wrong")
           + echo.last_output(server))
