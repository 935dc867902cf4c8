"""The graded tests of a server that forks a child per connection: concurrency,
the process count, the children's exit, and who closes which descriptor.

lab03 grades them first (its zombies are notes, no points lost: lab03 reaps
nothing yet); lab04 and lab06 grade them again (bound by the lab modules, as
startup_tests.py says).
"""

import resource

from grader.harness import graded, net, note, procs
from grader.harness.expect import expect, fail
from grader.harness.timing import scaled, wait_for
from grader.harness.kit import _N
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

from . import echo_server as echo, protocol
from .protocol import expect_reply, uppercase

# Descriptor limit of the server in the low-limit test: stdin, stdout,
# stderr and the listening socket leave 12 for connections.
LOW_NOFILE = 16

HINT_CONCURRENT = _N("fork_child: after fork() the parent goes straight back to Accept; only the "
                     "child calls serve_client. A parent that serves the client itself, or waits "
                     "for the child, keeps every other client waiting.")
HINT_ONE_CHILD = _N("Fork one child per accepted connection (fork_child, called in the accept "
                    "loop). Threads do not count, and a child must not fork again. Watch it with "
                    "`ps -o pid,ppid,stat,cmd --forest` while a few `nc localhost 6666` run.")
HINT_CHILD_EXITS = _N("In the child: Close(listenfd), serve_client, Close(connfd), then _exit(0). "
                      "It must end when its client closes and never return into the accept loop: "
                      "there it would fail in Accept on the listening socket it closed, or accept "
                      "clients of its own.")
HINT_PARENT_CLOSES = _N("fork_child: after fork() the parent must Close(connfd): the child has its "
                        "own copy. Otherwise every client leaves a descriptor behind in the parent "
                        "(look at `ls -l /proc/PID/fd` of the server after a few clients).")
HINT_LOW_LIMIT = _N("The parent must Close(connfd) after every fork(), or a few clients use up its "
                    "descriptors and Accept fails with EMFILE -- the course note's first concern. "
                    "Try `ulimit -n 16; ./server` and connect 20 clients one after another.")
HINT_CHILD_CLOSES = _N("The child's first step: Close(listenfd). It serves one client and never "
                       "accepts; a copy of the listening socket in every child keeps the port "
                       "open, even after the parent is gone.")


def connect_clients(server, count: int, rng) -> list:
    """count clients, each connected and answered once (so each is being
    served), all of them left connected."""
    clients = []
    for number in range(1, count + 1):
        client = echo.connect(server)
        data = protocol.text(rng, 30)
        received = client.exchange(data)
        if not received and number > 1 and server.running():
            fail(_("client {number} got no reply ({ended}) while {others} other "
                   "client(s) stayed connected ({children} child process(es) running): the "
                   "server serves one client at a time").format(
                       number=number, ended=client.waited.describe(),
                       others=number - 1, children=len(server.live_children())))
        expect_reply(data, received, what=_("client {number} of {count}: the reply").format(
            number=number, count=count), ended=client.waited.describe())
        clients.append(client)
    return clients


def expect_children(server, count: int, when: str):
    """Wait until the server has exactly count live children; fail otherwise."""
    wait_for(lambda: len(server.live_children()) == count, 5)
    children = server.live_children()
    if len(children) == count:
        return children
    pids = ", ".join(str(c.pid) for c in children)
    if pids:
        fail(_("{when}, the server had {count} running child process(es) (pid {pids}), not "
               "{expected}").format(when=when, count=len(children), pids=pids, expected=count))
    fail(_("{when}, the server had {count} running child process(es), not {expected}").format(
        when=when, count=len(children), expected=count))


@graded(points=2, hint=HINT_CONCURRENT, requires=echo.EXCHANGE)
def test_idle_client_delays_nobody(lab_dir, run_dir, rng):
    """an idle client never delays another client's reply

    3 clients connect and say nothing; 3 others must be answered
    """
    server = echo.start(lab_dir, run_dir)
    idle = [echo.connect(server) for _ in range(3)]
    active = []
    for number in range(1, 4):
        client = echo.connect(server)
        echo.check_reply(server, client, protocol.text(rng, 40),
                         what=_("with 3 idle clients connected, client {number}'s reply"
                                ).format(number=number))
        active.append(client)
    for number, client in enumerate(idle, start=1):
        echo.check_reply(server, client, protocol.text(rng, 20),
                         what=_("idle client {number}, when it speaks at last: the reply"
                                ).format(number=number))
    for client in idle + active:
        client.close()


@graded(points=2, hint=HINT_ONE_CHILD, requires=echo.EXCHANGE)
def test_one_child_per_client(lab_dir, run_dir, rng):
    """one child process per connected client

    with 1, 3, 5 clients connected: exactly 1, 3, 5 children (threads don't count)
    """
    server = echo.start(lab_dir, run_dir)
    clients = []
    for count in (1, 3, 5):
        clients += connect_clients(server, count - len(clients), rng)
        expect_children(server, count, _("with {count} client(s) connected").format(count=count))
    for client in clients:
        client.close()


@graded(points=2, hint=HINT_CHILD_EXITS, requires=echo.EXCHANGE)
def test_children_exit(lab_dir, run_dir, rng, request):
    """children exit (status 0) when their clients leave

    the child ends with `_exit(0)` and never returns into the accept loop; zombies are a note
    """
    server = echo.start(lab_dir, run_dir)
    clients = connect_clients(server, 4, rng)
    children = expect_children(server, 4, "with 4 clients connected")
    # The parent waits while the children exit, so their exit statuses stay
    # there to be read (lab04's parent would reap them at once).
    with echo.stopped(server.pid, "the server"):
        for client in clients:
            client.close()
        gone = wait_for(lambda: not any(procs.is_live(c) for c in children), 5)
        running = [c.pid for c in children if procs.is_live(c)]
        expect(gone, _("{count} of 4 children (pid {pids}) were still running {seconds} s "
                       "after their clients left").format(count=len(running),
                                                          pids=", ".join(map(str, running)),
                                                          seconds=f"{scaled(5):.0f}"))
        for child in children:
            status = echo.wait_status(child.pid)
            expect(status == 0,
                   _("child {pid} {ended} after its client left, not with status 0").format(
                       pid=child.pid, ended=echo.describe_status(status))
                   + echo.last_output(server))
    if request.module.LAB == "lab03_fork":
        zombies = wait_for(lambda: len(server.zombie_children()) == 4, 2)
        if zombies:
            note(_("4 children of the server were zombies (Z in ps) after their clients left: "
                   "nobody called waitpid() for them. lab04 reaps them."))


@graded(points=2, hint=HINT_PARENT_CLOSES, requires=echo.EXCHANGE)
def test_parent_closes_connfd(lab_dir, run_dir, rng):
    """the parent closes every accepted socket

    its descriptor count is the same after 60 connections, 20 at a time
    """
    server = echo.start(lab_dir, run_dir)
    for _warm_up in range(2):
        with echo.connect(server) as client:
            echo.check_reply(server, client, protocol.text(rng, 20))
        echo.wait_until_idle(server)
    baseline = server.num_fds()
    batches, batch = 3, 20
    for _batch in range(batches):
        clients = [echo.connect(server) for _ in range(batch)]
        for client in clients:
            echo.check_reply(server, client, protocol.text(rng, 20))
            echo.leave(server, client)
        echo.wait_until_idle(server)
    total = batches * batch
    now = echo.descriptors_after_settling(server, baseline)
    expect(now is not None and baseline is not None
           and now <= baseline + echo.KEPT_DESCRIPTORS,
           _("the server's open descriptors went from {before} to {after} over {total} "
             "connections that all ended ({state})").format(before=baseline, after=now,
                                                            total=total,
                                                            state=echo.state(server)))


@graded(points=2, hint=HINT_LOW_LIMIT, requires=echo.EXCHANGE)
def test_low_descriptor_limit(lab_dir, run_dir, rng):
    """keeps serving under a low descriptor limit (RLIMIT_NOFILE)

    `RLIMIT_NOFILE` = 16, 40 clients one after another
    """
    server = echo.start(lab_dir, run_dir, limits={resource.RLIMIT_NOFILE: LOW_NOFILE})
    clients = 40
    for number in range(1, clients + 1):
        client = echo.connect(server)
        data = protocol.text(rng, 30)
        received = client.exchange(data)
        if received != uppercase(data):
            fail(_("started with a limit of {limit} descriptors, the server did not answer "
                   "client {number} of {clients} (one after another): {got} of {owed} reply "
                   "bytes came ({ended}); it had {open} descriptors open ({state})"
                   ).format(limit=LOW_NOFILE, number=number, clients=clients,
                            ended=client.waited.describe(), got=len(received), owed=len(data),
                            open=server.num_fds(), state=echo.state(server))
                 + echo.last_output(server, 1))
        echo.leave(server, client)


@graded(points=1, hint=HINT_CHILD_CLOSES, requires=echo.EXCHANGE)
def test_child_closes_listenfd(lab_dir, run_dir, rng):
    """each child closes the listening socket

    no child holds the listening socket (`/proc/PID/fd`)
    """
    server = echo.start(lab_dir, run_dir)
    clients = connect_clients(server, 3, rng)
    children = expect_children(server, 3, "with 3 clients connected")
    holding = [c.pid for c in children if net.listening_ports(c.pid)]
    expect(not holding,
           _("{count} of 3 children (pid {pids}) still held the listening socket on port "
             "{port} while serving their clients").format(count=len(holding),
                                                          pids=", ".join(map(str, holding)),
                                                          port=server.port))
    for client in clients:
        client.close()

