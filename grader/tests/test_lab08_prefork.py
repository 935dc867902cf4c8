"""lab08_prefork: a pool of processes made ahead of time.

`server [-w WORKERS] [-m MAXREQUESTS] [PORT]`.  Graded on the echo checks of
labs 02-06 that hold for any server (bound from checks/), plus its own: the
pool holds exactly WORKERS workers, under load and after workers die; a
worker ends after MAXREQUESTS clients and is replaced; more clients than
workers queue and are all served; no zombie lasts; the parent never holds
an accepted socket; a failed fork is retried after a back-off; and the
graceful stop.

No test sleeps to synchronise: each polls for the state it needs with a
deadline.  A worker is named by what the kernel says, not by guesswork: the
process that holds a client's connected socket (/proc/PID/fd and
sock_diag, net.connection_state) is the worker serving that client.
"""

import os
import re
import signal
import time

from grader.harness import graded, net, procs
from grader.harness.expect import expect, fail
from grader.harness.timing import scaled, wait_for
from grader.harness.kit import _N
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

from checks.build_tests import builds_test
from checks import startup_tests as startup, reply_tests as replies
from checks import echo_server as echo
from checks import protocol
from checks.protocol import expect_reply
from checks.prefork_server import (REPLACED_WITHIN, Conversation, expect_workers, serve_queue,
                                   start_with, summary_of, worker_of)

LAB = "lab08_prefork"

# pytest runs the tests of a module in the order their names are bound here.
test_builds = builds_test()
test_server_starts = startup.test_server_starts
test_port_in_use = startup.test_port_in_use
test_one_client = replies.test_one_client
test_megabytes = replies.test_megabytes
test_every_byte_value = replies.test_every_byte_value

# The grace period of server.h's kGraceSeconds.
GRACE = 3

HINT_STOP = _N("On SIGTERM or SIGINT the handler only sets g_stop_signal: the parent leaves its "
               "loop, closes the listening socket, sends SIGTERM to each worker, waits for them "
               "within the grace period (reaping), kills the rest, prints the summary and returns "
               "0. A worker keeps SIGTERM blocked while it serves, and sees it in its next wait "
               "(ppoll with the wait mask): it finishes its client first. Workers ignore SIGINT.")


@graded(points=1, hint=_N("options_from_args: getopt(argc, argv, \"w:m:\"); -w takes a number "
                          "from 1 to 256, -m one from 0 to 1000000 (check the whole argument: "
                          "std::from_chars); then at most one operand, the port. Anything else: "
                          "a usage message on stderr and exit(2)."))
def test_bad_arguments(lab_dir, run_dir):
    """bad arguments (-w, -m, PORT): a usage message and exit status 2

    `getopt`, each number checked whole; usage and exit status 2
    """
    startup.expect_usage_errors(
        lab_dir, run_dir,
        (["-w", "0"], ["-w", "abc"], ["-w"], ["-w", "-3"], ["-w", "4x"], ["-m", "x"],
         ["-m", "-1"], ["-x"], ["abc"], ["0"], ["65536"], ["80x"], ["6666", "6667"]))


HINT_COUNT = _N("fill_pool forks while pool.workers.size() < the count -- not <=, and never a "
                "worker that forks again: a worker ends in _exit(0), never returns into the "
                "parent's loop. The parent forks the workers, then only supervises.")


@graded(points=3, hint=HINT_COUNT, requires=echo.EXCHANGE)
def test_exactly_workers(lab_dir, run_dir, rng):
    """exactly -w 3 workers, from the start and under load

    3 running children once started; 40 clients at once: at no sample more or fewer than 3
    children (zombies counted), and 3 after
    """
    server = start_with(lab_dir, run_dir, "-w", "3")
    expect_workers(server, 3, _("once started with `-w 3`"))
    seen = []

    def watch(server):
        states = server.child_states()
        if len(states) != 3 and not seen:
            seen.append(states)
    serve_queue(server, rng, 40, watch)
    if seen:
        states = seen[0]
        fail(_("`server -w 3` had {children} child process(es) ({zombies} zombies) at one moment "
               "while 40 clients were served: a pool of 3 never grows or shrinks when no worker "
               "dies").format(children=len(states),
                              zombies=sum(s == "Z" for s in states.values())))
    expect_workers(server, 3, _("after 40 clients with `-w 3`"))


HINT_REPLACE = _N("The parent sleeps until SIGCHLD (sigsuspend with the wait mask), then "
                  "reap_workers -- while ((pid = waitpid(-1, &status, WNOHANG)) > 0), not if: "
                  "one SIGCHLD may stand for several workers -- removes each pid from the pool, "
                  "and fill_pool forks a replacement for each at once.")


@graded(points=3, hint=HINT_REPLACE, requires=echo.EXCHANGE)
def test_dead_workers_replaced(lab_dir, run_dir, rng):
    """killed workers are replaced within a second, one or several at once

    `-w 4`: one worker killed with `SIGKILL`, then three while the parent is stopped (one
    `SIGCHLD` for all): within 1 s, 4 running workers again, new pids, no zombie
    """
    server = start_with(lab_dir, run_dir, "-w", "4")
    workers = expect_workers(server, 4, _("once started with `-w 4`"))
    for victims in (workers[:1], workers[1:]):
        # The three die while the parent is stopped: when it runs again,
        # one SIGCHLD stands for all of them (signals do not queue).
        with echo.stopped(server.pid, _N("the server")):
            for pid in victims:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            wait_for(lambda: all(procs.state_letter(p) in ("", "Z") for p in victims), 2)
        killed_at = time.monotonic()

        def replaced():
            states = server.child_states()
            return (len(states) == 4 and "Z" not in states.values()
                    and not set(victims) & set(states))
        wait_for(replaced, REPLACED_WITHIN + 1)
        took = time.monotonic() - killed_at
        states = server.child_states()
        if not replaced():
            fail(_("{seconds} s after {count} of its 4 workers were killed with SIGKILL, the "
                   "server had {running} running worker(s) and {zombies} zombie(s), {old} of "
                   "them the killed ones ({state})").format(
                       seconds=f"{took:.1f}", count=len(victims),
                       running=sum(s != "Z" for s in states.values()),
                       zombies=sum(s == "Z" for s in states.values()),
                       old=len(set(victims) & set(states)), state=echo.state(server))
                 + echo.last_output(server))
        expect(took <= scaled(REPLACED_WITHIN),
               _("{count} killed worker(s) were replaced only {seconds} s later: the parent must "
                 "reap and fork at once, when SIGCHLD wakes it").format(
                     count=len(victims), seconds=f"{took:.1f}"))
    with echo.connect(server) as client:
        echo.check_reply(server, client, protocol.text(rng, 40),
                         what=_N("after workers were killed and replaced, a client's reply"))


HINT_MAX = _N("run_worker counts the clients it has served and returns once it has served -m "
              "of them (0: no limit) -- after the Close of the last one, not before its accept; "
              "the worker then exits 0 and the parent forks another in its place.")


@graded(points=3, hint=HINT_MAX, requires=echo.EXCHANGE)
def test_max_requests(lab_dir, run_dir, rng):
    """-m 3: each worker serves 3 clients, exits, and is replaced

    12 clients one after another against `-w 2 -m 3`; the worker of each is the process holding
    its connection: no worker serves a 4th, each one gone after its 3rd, the pool back to 2
    """
    server = start_with(lab_dir, run_dir, "-w", "2", "-m", "3")
    expect_workers(server, 2, _("once started with `-w 2 -m 3`"))
    served = {}
    for number in range(1, 13):
        client = echo.connect(server)
        echo.check_reply(server, client, protocol.text(rng, 30),
                         what=_("client {number} of 12 under `-m 3`: the reply").format(
                             number=number))
        pid = worker_of(server, client)
        expect(pid is not None,
               _("client {number}'s connection was held by no process of the server").format(
                   number=number))
        client.close()
        if pid == server.pid:
            continue  # the parent serving: test_parent_never_accepts says so
        served[pid] = served.get(pid, 0) + 1
        expect(served[pid] <= 3,
               _("worker {pid} served a 4th client under `-m 3`").format(pid=pid))
        if served[pid] == 3:
            gone = wait_for(lambda: procs.state_letter(pid) in ("", "Z"), 2)
            expect(gone, _("worker {pid} was still running 2 s after its 3rd client under "
                           "`-m 3` had left").format(pid=pid))
    early = [pid for pid, count in served.items() if count < 3
             and procs.state_letter(pid) in ("", "Z")]
    expect(not early, _("worker {pid} exited after {count} client(s), not 3, under `-m 3`"
                        ).format(pid=early[0] if early else 0,
                                 count=served.get(early[0], 0) if early else 0))
    expect_workers(server, 2, _("after 12 clients under `-w 2 -m 3`"))


HINT_QUEUE = _N("Each worker serves one client at a time, and goes back to accept; the clients "
                "beyond the pool wait in the listen backlog until a worker is free. Never close "
                "or refuse them, and make sure every worker returns to its accept loop.")


@graded(points=3, hint=HINT_QUEUE, requires=echo.EXCHANGE)
def test_more_clients_than_workers(lab_dir, run_dir, rng):
    """more clients than workers: they queue, every one is served byte-exact

    60 clients at once against `-w 2`, each reply byte-exact, none refused or cut off
    """
    server = start_with(lab_dir, run_dir, "-w", "2")
    expect_workers(server, 2, _("once started with `-w 2`"))
    serve_queue(server, rng, 60)


HINT_ZOMBIES = _N("A worker that ends is a zombie until the parent reaps it: the parent must wake "
                  "on SIGCHLD and reap every ended worker at once (waitpid with WNOHANG in a "
                  "while loop), never leave one for the next wake-up.")


@graded(points=2, hint=HINT_ZOMBIES, requires=echo.EXCHANGE)
def test_no_lasting_zombie(lab_dir, run_dir, rng):
    """no zombie lasts: each ended worker is reaped at once

    `-w 3 -m 1`: 30 clients, 10 at a time, every worker exits after one client; no zombie seen
    for more than a second
    """
    server = start_with(lab_dir, run_dir, "-w", "3", "-m", "1")
    expect_workers(server, 3, _("once started with `-w 3 -m 1`"))
    first_seen = {}
    lasting = []

    def watch(server):
        now = time.monotonic()
        zombies = {pid for pid, state in server.child_states().items() if state == "Z"}
        for pid in list(first_seen):
            if pid not in zombies:
                del first_seen[pid]
        for pid in zombies:
            first_seen.setdefault(pid, now)
            if now - first_seen[pid] > scaled(REPLACED_WITHIN) and not lasting:
                lasting.append(pid)
    for _batch in range(3):
        serve_queue(server, rng, 10, watch)
        expect(not lasting, _("worker {pid} stayed a zombie for more than {seconds} s: the "
                              "parent did not reap it").format(
                                  pid=lasting[0] if lasting else 0,
                                  seconds=f"{scaled(REPLACED_WITHIN):.0f}"))
    expect_workers(server, 3, _("after 30 clients under `-w 3 -m 1`"))


HINT_PARENT = _N("The parent never calls accept: it opens the listening socket, forks the "
                 "workers and supervises them (sigsuspend, reap, fork). Only the workers accept "
                 "and serve.")


@graded(points=2, hint=HINT_PARENT, requires=echo.EXCHANGE)
def test_parent_never_accepts(lab_dir, run_dir, rng):
    """the parent never accepts: only workers hold the clients' sockets

    `-w 2`, both workers busy with a client each, a 3rd client waits: it is not answered, each
    connection is held by a worker, none by the parent; three times, the parent's descriptors
    do not grow
    """
    server = start_with(lab_dir, run_dir, "-w", "2")
    expect_workers(server, 2, _("once started with `-w 2`"))
    baseline = server.num_fds()
    waiting, sent = None, b""
    for _round in range(3):
        busy = []
        if waiting is not None:
            received = waiting.recv_exactly(len(sent))
            expect_reply(sent, received, what=_N("a client that waited for a free worker: the "
                                                 "reply"), ended=waiting.waited.describe())
            busy.append(waiting)
        while len(busy) < 2:
            client = echo.connect(server)
            echo.check_reply(server, client, protocol.text(rng, 30))
            busy.append(client)
        waiting, sent = echo.connect(server), protocol.text(rng, 30)
        waiting.send(sent)
        # With both workers busy, only a parent that accepts answers it.
        answered = not waiting.nothing_arrives_within(0.5)
        for client in busy + [waiting]:
            pid = worker_of(server, client)
            expect(pid != server.pid and not answered,
                   _("the server's parent process (pid {pid}) held a client's connection: it "
                     "accepted it itself").format(pid=server.pid))
        for client in busy:
            pid = worker_of(server, client)
            expect(pid is not None, _("no process of the server held a connected client's "
                                      "socket"))
            client.close()
    waiting.close()
    now = echo.descriptors_after_settling(server, baseline)
    expect(now is not None and baseline is not None
           and now <= baseline + echo.KEPT_DESCRIPTORS,
           _("the parent's open descriptors went from {before} to {after} over 6 clients "
             "({state})").format(before=baseline, after=now, state=echo.state(server)))


# FORKLAB_FORK_TIMES: its number and when it was made (CLOCK_MONOTONIC).
FORK_CALL = re.compile(r"^\[grader\] fork\(\) call (\d+)(?: fails with EAGAIN)? at ([\d.]+)$",
                       re.MULTILINE)
# The pauses after failed forks (kForkRetryMs, then doubled), less a
# millisecond for the clock: a correct pause is never shorter.
BACK_OFF_SECONDS = (0.099, 0.199)


@graded(points=2, hint=_N("fork_worker returns -1 when fork() fails -- never exit: the other "
                          "workers keep serving. fill_pool then stops, counts the failure and "
                          "sets the next fork 100 ms later, doubled after each further failure "
                          "in a row; the parent sleeps until then (ppoll with a timeout and the "
                          "wait mask)."), requires=echo.EXCHANGE)
def test_fork_failure(lab_dir, run_dir, rng, preload):
    """fork() failing: the server backs off 100 ms, then 200 ms, and fills its pool

    forks 2 and 3 fail under `-w 2` (a preloaded library): it keeps serving with 1 worker, forks
    again after 100 ms, then 200 ms, and has 2 workers
    """
    env = dict(os.environ, LD_PRELOAD=str(preload("fail_fork")),
               FORKLAB_FAIL_FORK="2,3", FORKLAB_FORK_TIMES="1")
    server = start_with(lab_dir, run_dir, "-w", "2", env=env)
    with echo.connect(server) as client:
        echo.check_reply(server, client, protocol.text(rng, 30),
                         what=_N("with fork() failing, a client's reply"))
    expect_workers(server, 2, _("with forks 2 and 3 failed under `-w 2`, 1 s later"))
    times = {int(n): float(t) for n, t in FORK_CALL.findall(server.output())}
    for failed, pause in zip((2, 3), BACK_OFF_SECONDS):
        if failed in times and failed + 1 in times:
            waited = times[failed + 1] - times[failed]
            expect(waited >= pause,
                   _("after fork() call {failed} failed, the server called fork() again {ms} "
                     "ms later: it must back off {back_off} ms first").format(
                         failed=failed, ms=f"{waited * 1000:.0f}",
                         back_off=f"{pause * 1000:.0f}"))


@graded(points=3, hint=HINT_STOP, requires=echo.EXCHANGE)
def test_graceful_stop(lab_dir, run_dir, rng):
    """SIGTERM: idle workers stop, a busy one finishes its client, exit 0, nothing left

    `-w 3`, one client mid-conversation; `SIGTERM` to the parent alone: the parent closes its
    listening socket, the 2 idle workers exit at once, the client gets its whole reply, then the
    server exits 0 with its summary; no worker left behind
    """
    server = start_with(lab_dir, run_dir, "-w", "3")
    workers = expect_workers(server, 3, _("once started with `-w 3`"))
    talk = Conversation(server, rng, 2000)
    busy = worker_of(server, talk.client)
    server.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    closed = wait_for(lambda: not net.is_listening(server.pid, server.port), 1)
    expect(closed or not server.running(),
           _("1 s after SIGTERM the parent still held the listening socket"))
    idle = [pid for pid in workers if pid != busy]
    gone = wait_for(lambda: all(procs.state_letter(p) in ("", "Z") for p in idle), 2)
    expect(gone, _("2 s after SIGTERM, an idle worker was still running: idle workers must "
                   "stop at once"))
    expect(busy is None or procs.state_letter(busy) not in ("", "Z"),
           _("SIGTERM ended the worker serving a client at once ({seconds} s after it): it must "
             "finish its client first").format(seconds=f"{time.monotonic() - stopped_at:.1f}"))
    echo.check_reply(server, talk.client, talk.rest,
                     what=_N("a client finishing after SIGTERM: the rest of its reply"))
    talk.client.close()
    code = server.wait_exit(GRACE)
    expect(code == 0, _("after SIGTERM the server {ended}, not status 0").format(
        ended=server.describe_exit()) + echo.last_output(server))
    left = [pid for pid in workers if procs.state_letter(pid) not in ("",)]
    expect(not left, _("after the server exited, worker {pid} was still there").format(
        pid=left[0] if left else 0))
    summary = summary_of(server)
    expect(summary is not None and summary[1] == 0,
           _("after SIGTERM the server should print 'started 3 workers, 0 killed after the "
             "grace period'") + echo.last_output(server))


@graded(points=2, hint=HINT_STOP, requires=echo.EXCHANGE)
def test_stop_after_grace(lab_dir, run_dir, rng):
    """Ctrl-C: workers keep serving, a client that never ends is cut after the grace

    `SIGINT` to the whole process group, as a terminal sends it: a worker serving an idle client
    survives it, and is killed 3 s later; exit 0, the summary counts 1 killed
    """
    server = start_with(lab_dir, run_dir, "-w", "2")
    expect_workers(server, 2, _("once started with `-w 2`"))
    idle = Conversation(server, rng, 10)
    busy = worker_of(server, idle.client)
    server.send_signal(signal.SIGINT, group=True)
    stopped_at = time.monotonic()
    wait_for(lambda: not net.is_listening(server.pid, server.port), 1)
    expect(busy is None or procs.state_letter(busy) not in ("", "Z"),
           _("Ctrl-C ended the worker serving a client at once: workers ignore SIGINT, and the "
             "parent gives them the grace period"))
    _data, eof = idle.client.read_until_eof(stall=GRACE + 10)
    ended_after = time.monotonic() - stopped_at
    expect(eof, _("the idle client was still connected {seconds} s after Ctrl-C").format(
        seconds=f"{ended_after:.1f}"))
    expect(ended_after >= GRACE - 0.5,
           _("the idle client's worker was stopped {seconds} s after Ctrl-C, before the grace "
             "period of {grace} s was over").format(seconds=f"{ended_after:.1f}", grace=GRACE))
    idle.client.close()
    code = server.wait_exit(5)
    expect(code == 0, _("after Ctrl-C the server {ended}, not status 0").format(
        ended=server.describe_exit()) + echo.last_output(server))
    summary = summary_of(server)
    expect(summary is not None and summary[1] == 1,
           _("with one client still connected at the end of the grace period, the summary "
             "should say 1 killed after the grace period") + echo.last_output(server))
