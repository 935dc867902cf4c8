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

import pytest

from grader.harness import diagnose, graded, kit, net, procs
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
from checks import limits_cases, unit_cases
from checks.limits_server import (
    LATE_SLEEP_SAYS, STOP_RACE_DELAY_US, STUCK_AFTER, SUMMARY, Conversation, Crowd, InItsWait,
    Sleeper, children_kept_through_the_grace, leave_all_at_once, serve_a_full_house, start_with,
    stop_and_read_summary, summary_of)

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
        "fork_child: when fork() returns -1, log the error, Close(connfd) (that client is "
        "dropped: it reads end of file, or ECONNRESET if what it sent was never read) and "
        "return -1; the main loop then calls back_off and goes on -- no add_child "
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
               "action and unblock it (restore_signals_in_child), or the SIGTERM stays pending, "
               "blocked, and never ends it.")
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
                deadline_passed(_("no client of the crowd got its reply"))
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
                expect(reply == b"X", _("connection {finished} of {total}: the reply was "
                                        "{reply}, not b'X' ({state})").format(
                                            finished=finished, total=total, reply=show(reply),
                                            state=echo.state(server)))
            expect(server.running(), _("{state} after {finished} of {total} connections").format(
                state=echo.state(server), finished=finished, total=total)
                + echo.last_output(server))
            if sleeper.stuck():
                deadline_passed(_("the server slept with clients waiting"))
                zombies = len(server.zombie_children())
                fail(_("after {finished} of {total} connections, `server -n 1` slept for {seconds} "
                       "s without running once, with no running child and {zombies} zombie(s), "
                       "while {waiting} clients waited: the SIGCHLD of its last child came "
                       "between its check of the count and its sleep, and was lost").format(
                           finished=finished, total=total, seconds=f"{STUCK_AFTER:.0f}",
                           zombies=zombies, waiting=len(selector.get_map())))
            if time.monotonic() - last_progress > scaled(STALL_SECONDS):
                deadline_passed(_("no connection ended"))
                fail(_("after {finished} of {total} connections, no connection ended for {seconds} "
                       "s ({state}, {children} child(ren))").format(
                           finished=finished, total=total, seconds=f"{scaled(STALL_SECONDS):.0f}",
                           state=echo.state(server), children=len(server.children())))
    finally:
        for key in list(selector.get_map().values()):
            key.fileobj.close()
        selector.close()


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
    with children_kept_through_the_grace(server, children, stopped_at, grace):
        for number, talk in enumerate(finishers, start=1):
            what = _("client {number} of 3 finishing within the grace period: the rest of its "
                     "reply").format(number=number)
            echo.check_reply(server, talk.client, talk.rest, what=what)
            talk.client.sock.shutdown(socket.SHUT_WR)
            _data, eof = talk.client.read_until_eof()
            expect(eof, _("client {number} had half-closed after its reply; its connection "
                          "was still open: {ended}").format(
                              number=number, ended=talk.client.waited.describe()))
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


# --------------------------------------------------- the cap, again and again

HINT_CAP_DRIFT = _N("The count must follow the children exactly, however they end and however "
                    "many exit at once: add_child only after a fork that worked, reap_children "
                    "after every wake-up with while (one SIGCHLD can stand for many exits), and "
                    "nothing else -- no handler -- that reaps or counts. A count that drifts "
                    "leaves the server stuck at the cap, or serving fewer clients than -n.")


@graded(points=2, hint=HINT_CAP_DRIFT, requires=echo.SERVER_STARTS)
def test_cap_after_bursts_and_failed_forks(lab_dir, run_dir, rng, preload):
    """the cap stays -n 4 after bursts of exits and after failed forks

    4 clients served at once and a 5th kept waiting, then all 4 leave at once; twice; then 2 forks
    fail; then again 4 at once and no more
    """
    # Each round forks 5 children: the 4 clients, then the one that waited
    # (closed, it is still accepted once a slot is free).  Forks 11 and 12,
    # after two rounds, fail.
    env = dict(os.environ, LD_PRELOAD=str(preload("fail_fork")), FORKLAB_FAIL_FORK="11,12")
    server = start_with(lab_dir, run_dir, "-n", "4", env=env)
    for number in (1, 2):
        clients = serve_a_full_house(server, rng, 4, _("in round {number}, with 4 clients "
                                                       "connected").format(number=number))
        leave_all_at_once(server, clients)
    for number in (1, 2):
        dropped = echo.connect(server)
        _data, eof = dropped.read_until_eof()
        expect(eof, _("fork() failed for a client; its connection was still open: {ended}"
                      ).format(ended=dropped.waited.describe()) + echo.last_output(server, 2))
        dropped.close()
    clients = serve_a_full_house(server, rng, 4, _("after 2 failed forks, with 4 clients "
                                                   "connected"))
    leave_all_at_once(server, clients)


# What grader/support/fail_fork.cpp logs of each fork() call with
# FORKLAB_FORK_TIMES: its number and when it was made (CLOCK_MONOTONIC).
FORK_CALL = re.compile(r"^\[grader\] fork\(\) call (\d+)(?: fails with EAGAIN)? at ([\d.]+)$",
                       re.MULTILINE)


@graded(points=2, hint=_N("fork_child returns -1 when fork() fails: the main loop then calls "
                          "back_off(++failures) -- 100 ms, doubled after each further failure "
                          "in a row -- and counts nothing: add_child (and its served count) "
                          "only after a fork that worked."), requires=echo.SERVER_STARTS)
def test_fork_failure_accounting(lab_dir, run_dir, rng, preload):
    """after failed forks: back-off of 100 ms then 200 ms, no slot lost, only served clients counted

    forks 2 and 3 fail under `-n 2`: the next fork waits 100 ms, the one after 200 ms (the
    server's own fork times); then 2 clients are served at once; the summary says 3 served
    """
    env = dict(os.environ, LD_PRELOAD=str(preload("fail_fork")), FORKLAB_FAIL_FORK="2,3",
               FORKLAB_FORK_TIMES="1")
    server = start_with(lab_dir, run_dir, "-n", "2", env=env)
    first = echo.connect(server)
    echo.check_reply(server, first, protocol.text(rng, 30), what=_N("the first client's reply"))
    echo.leave(server, first)
    for number in (2, 3):
        dropped = echo.connect(server)
        _data, eof = dropped.read_until_eof()
        expect(eof, _("fork() failed for client {number}; its connection was still open: "
                      "{ended}").format(number=number, ended=dropped.waited.describe()))
        dropped.close()
    pair = [echo.connect(server) for _ in range(2)]
    data = protocol.text(rng, 30)
    for client in pair:
        client.send(data)
    replies = [client.recv_exactly(len(data)) for client in pair]
    expect(all(reply == uppercase(data) for reply in replies),
           _("after 2 failed forks, 2 clients under `-n 2` got {got} of 2 replies ({ended}): a "
             "failed fork must not take a slot").format(
                 got=sum(reply == uppercase(data) for reply in replies),
                 ended=pair[-1].waited.describe()))
    fork_tests.expect_children(server, 2, _("after 2 failed forks, with 2 clients connected"))
    # The server's own clock: load makes a pause longer, never shorter.
    calls = {int(n): float(t) for n, t in FORK_CALL.findall(server.output())}
    for failed, pause in ((2, BACK_OFF_SECONDS[0]), (3, BACK_OFF_SECONDS[1])):
        if failed in calls and failed + 1 in calls:
            waited = calls[failed + 1] - calls[failed]
            expect(waited >= pause,
                   _("after fork() call {failed} failed, the server called fork() again {ms} ms "
                     "later: it must back off {back_off} ms first (100 ms, doubled after each "
                     "further failure in a row)").format(
                         failed=failed, ms=f"{waited * 1000:.0f}",
                         back_off=f"{pause * 1000:.0f}"))
    for client in pair:
        client.close()
    wait_for(lambda: not server.children(), 5)
    summary = stop_and_read_summary(server)
    expect(summary[0] == 3, _("the summary said served {served}: 3 clients were served, 2 "
                              "more were dropped when fork() failed").format(served=summary[0]))


# The pauses after failed forks (kForkRetryMs, then doubled), less a
# millisecond for the clock: a correct pause is never shorter.
BACK_OFF_SECONDS = (0.099, 0.199)


# ------------------------------------------------------------------- the stop

HINT_GRACE_BOUNDS = _N("finish_children: one deadline, set once when the stop begins (now + -g "
                       "seconds); wait with ppoll and that deadline's time left, reaping after "
                       "each wake-up, and stop waiting as soon as no child is left -- then "
                       "SIGTERM the children still running at the deadline. A deadline set "
                       "again after each wake-up, or a plain sleep of the whole grace, is wrong "
                       "both ways.")

# How late the children still running may be stopped after the grace period
# ends (and how early the server may exit when its clients are done): room
# for a busy machine, far less than the mistakes it catches.
GRACE_SLACK = 0.75


@graded(points=2, hint=HINT_GRACE_BOUNDS, requires=echo.SERVER_STARTS)
def test_grace_period_bounds(lab_dir, run_dir, rng):
    """the grace period: over as soon as every client is done, never longer than -g

    `-g 30`: 2 clients finish just after SIGTERM, the server exits at once; `-g 2`: a client leaves
    after 1 s, the idle one is stopped at 2 s, not later
    """
    server = start_with(lab_dir, run_dir, "-n", "4", "-g", "30")
    talks = [Conversation(server, rng, 200) for _ in range(2)]
    children = server.live_children()
    server.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    wait_for(lambda: not net.is_listening(server.pid, server.port), 1)
    with children_kept_through_the_grace(server, children, stopped_at, 30):
        for talk in talks:
            echo.check_reply(server, talk.client, talk.rest,
                             what=_N("a client finishing after SIGTERM: the rest of its reply"))
            talk.client.close()
    code = server.wait_exit(GRACE_SLACK + 2)
    expect(code is not None,
           _("with `-g 30`, both clients were done {seconds} s after SIGTERM, but the server was "
             "still running: the stop must come as soon as every child is reaped, not when the "
             "grace period is over").format(seconds=f"{time.monotonic() - stopped_at:.1f}"))
    expect(code == 0, _("after SIGTERM the server {ended}, not status 0").format(
        ended=server.describe_exit()) + echo.last_output(server))

    grace = 2
    server = start_with(lab_dir, run_dir, "-n", "4", "-g", str(grace), name="server-g2")
    leaver, idle = Conversation(server, rng, 200), Conversation(server, rng, 10)
    server.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    # A child that exits in the middle of the grace period must not restart it.
    wait_for(lambda: time.monotonic() - stopped_at >= grace / 2, grace)
    echo.check_reply(server, leaver.client, leaver.rest,
                     what=_N("a client finishing after SIGTERM: the rest of its reply"))
    leaver.client.close()
    _data, eof = idle.client.read_until_eof(stall=grace + 10)
    ended_after = time.monotonic() - stopped_at
    expect(eof, _("the idle client was still connected {seconds} s after SIGTERM, with a grace "
                  "period of {grace} s: its child was never stopped").format(
                      seconds=f"{ended_after:.1f}", grace=grace))
    if ended_after > grace + GRACE_SLACK:
        deadline_passed(_("the grace period's end"))
    expect(ended_after <= grace + GRACE_SLACK,
           _("with a grace period of {grace} s, the idle client's connection ended {seconds} s "
             "after SIGTERM: the grace period must end {grace} s after SIGTERM, whatever the "
             "children did meanwhile").format(grace=grace, seconds=f"{ended_after:.1f}"))
    idle.client.close()
    expect(server.wait_exit(5) == 0, _("after SIGTERM the server {ended}, not status 0").format(
        ended=server.describe_exit()) + echo.last_output(server))


@graded(points=1, hint=_N("-g 0 is a grace period of none: options_from_args accepts 0 to 3600, "
                          "and finish_children then sends SIGTERM at once to the children still "
                          "running."), requires=echo.SERVER_STARTS)
def test_no_grace(lab_dir, run_dir, rng):
    """-g 0: no grace period, the children are stopped at once

    an idle client's child is stopped at once after `SIGTERM`; exit 0, the summary counts it
    """
    server = start_with(lab_dir, run_dir, "-g", "0")
    idle = Conversation(server, rng, 10)
    server.send_signal(signal.SIGTERM)
    _data, eof = idle.client.read_until_eof()
    expect(eof, _("with `-g 0` the idle client was still connected after SIGTERM: {ended}").format(
        ended=idle.client.waited.describe()))
    idle.client.close()
    expect(server.wait_exit(5) == 0, _("after SIGTERM the server {ended}, not status 0").format(
        ended=server.describe_exit()) + echo.last_output(server))
    expect(summary_of(server) == (1, 1, 1),
           _("with `-g 0` and one idle client the summary should say served 1, at most 1 at "
             "once, 1 stopped after the grace period") + echo.last_output(server))


HINT_STOP_RACE = _N("A stop signal has its race too: the flag is checked, SIGTERM arrives and its "
                    "handler sets the flag, and then the server sleeps -- for ever, if no client "
                    "comes. Keep the three signals blocked outside the calls that sleep, and "
                    "sleep only in calls that take the wait mask (ppoll, sigsuspend), which let "
                    "a pending SIGTERM in at once.")


@graded(points=2, hint=HINT_STOP_RACE, requires=echo.SERVER_STARTS)
def test_stop_signal_as_it_goes_to_sleep(lab_dir, run_dir, rng, preload):
    """a SIGTERM that arrives as the server goes to sleep still stops it

    every sleeping call starts 0.5 s late; `SIGTERM` is sent just after a child is reaped, as the
    server goes back to sleep: it must exit 0 within a few seconds
    """
    env = dict(os.environ, LD_PRELOAD=str(preload("late_sleep")),
               FORKLAB_LATE_SLEEP_FIXED_US=str(STOP_RACE_DELAY_US))
    server = start_with(lab_dir, run_dir, "-g", "30", env=env)
    client = echo.connect(server)
    echo.check_reply(server, client, protocol.text(rng, 30))
    # The server sleeps, waiting for a client.  Once this one leaves, its
    # child's exit wakes the server, which reaps it and goes back to sleep:
    # the shim says when that sleep's delay begins, and the signal is sent
    # in it -- after every check the server makes, before its sleep.
    wait_for(InItsWait(server), 5)
    delays = server.output().count(LATE_SLEEP_SAYS)
    client.close()
    wait_for(lambda: server.output().count(LATE_SLEEP_SAYS) > delays, 5)
    server.send_signal(signal.SIGTERM)
    code = server.wait_exit(STOP_RACE_DELAY_US / 1e6 + 3)
    expect(code is not None,
           _("SIGTERM came as the server, with no client, went back to sleep; {seconds} s later "
             "it was still running: the signal was handled before the sleep began, and nothing "
             "woke it").format(seconds=f"{STOP_RACE_DELAY_US / 1e6 + 3:.1f}"))
    expect(code == 0, _("after SIGTERM the server {ended}, not status 0").format(
        ended=server.describe_exit()) + echo.last_output(server))


@graded(points=1, hint=_N("Ctrl-C in a terminal sends SIGINT to the whole foreground process "
                          "group, the children too. Each child ignores SIGINT "
                          "(restore_signals_in_child): the parent alone decides when they stop, "
                          "after the grace period."), requires=echo.SERVER_STARTS)
def test_ctrl_c_reaches_every_process(lab_dir, run_dir, rng):
    """Ctrl-C (SIGINT to the whole process group): the children keep serving for the grace period

    `SIGINT` to the server's process group, as a terminal sends it: a client mid-conversation
    still gets its whole reply, then the server exits 0
    """
    server = start_with(lab_dir, run_dir, "-g", "30")
    talk = Conversation(server, rng, 2000)
    children = server.live_children()
    server.send_signal(signal.SIGINT, group=True)
    stopped_at = time.monotonic()
    wait_for(lambda: not net.is_listening(server.pid, server.port), 1)
    with children_kept_through_the_grace(server, children, stopped_at, 30):
        echo.check_reply(server, talk.client, talk.rest,
                         what=_N("after Ctrl-C, the rest of the reply of a client being served"))
    talk.client.close()
    expect(server.wait_exit(5) == 0, _("after Ctrl-C the server {ended}, not status 0").format(
        ended=server.describe_exit()) + echo.last_output(server))


@graded(points=2, hint=_N("install_signal_handlers returns the mask the server had when it "
                          "started with the three signals taken out (sigdelset): a server started "
                          "with SIGCHLD blocked -- a shell or a service manager can do that -- "
                          "would otherwise sleep at the cap for ever. Each child unblocks the "
                          "three (restore_signals_in_child)."), requires=echo.SERVER_STARTS)
def test_started_with_signals_blocked(lab_dir, run_dir, rng, preload):
    """started with SIGCHLD, SIGTERM and SIGINT blocked, it still reaps, waits and stops

    started with the three blocked: `-n 1` serves 3 clients in turn (each waits for a reap at the
    cap), then stops on `SIGTERM` within `-g 1`
    """
    env = dict(os.environ, LD_PRELOAD=str(preload("blocked_start")))
    server = start_with(lab_dir, run_dir, "-n", "1", "-g", "1", env=env)
    for number in range(1, 4):
        client = echo.connect(server)
        echo.check_reply(server, client, protocol.text(rng, 30),
                         what=_("client {number} of 3 under `-n 1`, the server started with "
                                "SIGCHLD blocked: the reply").format(number=number))
        client.close()
    idle = Conversation(server, rng, 10)
    server.send_signal(signal.SIGTERM)
    _data, eof = idle.client.read_until_eof(stall=12)
    expect(eof, _("the server was started with SIGTERM blocked; 12 s after SIGTERM, with a grace "
                  "period of 1 s, its idle client was still connected"))
    idle.client.close()
    expect(server.wait_exit(5) == 0, _("after SIGTERM the server {ended}, not status 0").format(
        ended=server.describe_exit()) + echo.last_output(server))


# The line wait_for_free_slot prints once when the wait at the cap begins.
AT_THE_CAP = re.compile(r"^at the cap: \d+ children; waiting for one to exit$", re.MULTILINE)


@graded(points=1, hint=_N("Print 'at the cap: N children; waiting for one to exit' once, when "
                          "the wait begins -- before wait_for_free_slot's loop, not in it: a "
                          "wake-up that frees no slot is no new event."),
        requires=echo.SERVER_STARTS)
def test_cap_line_once_per_wait(lab_dir, run_dir, rng):
    """the log at the cap: one line when the wait begins, none per wake-up

    at the cap, 3 `SIGCHLD`s that free no slot wake the parent: still one `at the cap` line
    """
    server = start_with(lab_dir, run_dir, "-n", "1")
    busy = fork_tests.connect_clients(server, 1, rng)
    waiting = echo.connect(server)
    waiting.send(protocol.text(rng, 20))
    wait_for(lambda: AT_THE_CAP.search(server.output()), 5)
    for _wake in range(3):
        before = procs.activity(server.pid)
        server.send_signal(signal.SIGCHLD)
        wait_for(lambda: (procs.activity(server.pid) or before).sleeps > before.sleeps, 2)
    lines = AT_THE_CAP.findall(server.output())
    expect(len(lines) == 1,
           _("waiting at the cap, woken 3 times by a SIGCHLD that freed no slot, the server "
             "printed {count} 'at the cap' lines: one per wait, not one per wake-up").format(
                 count=len(lines)) + echo.last_output(server))
    for client in busy + [waiting]:
        client.close()


# ------------------------------------------------- the contract: unit cases

UNIT_TESTS_BUILD = "the unit tests build (test_server.cpp with your server.cpp)"
HUNG = _N("the test did not finish within {seconds} s: the function under test hung -- a wait "
          "that nothing ends (a lost wakeup? a signal left blocked?) or a loop that never ends")


@graded(points=1, hint=_N("`make test` in lab06_limits builds the unit tests: every function of "
                          "server.h must be defined, with the signature it declares (a design "
                          "of your own keeps them: they are what the unit tests call)."),
        requires=echo.SERVER_STARTS)
def test_unit_tests_build(grading, lab_dir):
    """the unit tests build (test_server.cpp with your server.cpp)

    `make test`'s binary links: every function of `server.h` is there
    """
    build = grading.build_unit_tests(LAB, limits_cases.TEST_BINARY)
    if not build.ok:
        fail(build.problem + "\n" + kit.first_errors(build.output))


@pytest.fixture
def unit_test_binary(lab_dir):
    return lab_dir / limits_cases.TEST_BINARY


unit_cases.bind_cases(globals(), limits_cases.CASES, "unit_test_binary",
                      limits_cases.CASE_DESCRIPTION, HUNG, requires=UNIT_TESTS_BUILD)
