"""lab07_events: one process, many clients.

`server [-c MAX_CLIENTS] [PORT]`: the uppercase-echo server in one process,
poll(2) over non-blocking sockets, a reply buffer per client.  Graded on the
reply checks of labs 02-06 that apply unchanged (bound from checks/), plus
its own: many clients interleaved, byte-exact; no child, no thread; a client
that never reads costs bounded memory and stalls nobody (back-pressure); a
thousand idle clients at once; the cap -c; EMFILE survived; the half-close;
a graceful stop through the self-pipe.

No test sleeps to synchronise: each polls for the state it needs with a
deadline.  Memory is measured on the server (its resident set), CPU on the
server (procs.activity), not on the wall clock of a busy machine.
"""

import os
import random
import resource
import selectors
import signal
import socket
import time

from grader.harness import graded, net, procs
from grader.harness.expect import expect, fail
from grader.harness.kit import _N
from grader.harness.scoring import title_of
from grader.harness.timing import scaled, wait_for
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

from checks.build_tests import builds_test
from checks import startup_tests as startup, reply_tests as replies, leaving_tests as leaving
from checks import echo_server as echo
from checks import protocol
from checks.protocol import uppercase
from checks.events_server import (FLOOD, GRACE, IDLE_CLIENTS, LATE_SLEEP_SAYS, MAX_GROWTH,
                                  SOFT_LIMIT, STOP_RACE_DELAY_US, Conversation, in_its_wait,
                                  Talkers, expect_one_process, own_descriptors, rss, start_with,
                                  start_with_full_sockets, summary_of)

LAB = "lab07_events"

# pytest runs the tests of a module in the order their names are bound here.
test_builds = builds_test()
test_server_starts = startup.test_server_starts
test_port_in_use = startup.test_port_in_use
test_one_client = replies.test_one_client
test_megabytes = replies.test_megabytes
test_every_byte_value = replies.test_every_byte_value
test_clients_that_disconnect = leaving.test_clients_that_disconnect
test_client_gone_while_written_to = leaving.test_client_gone_while_written_to

# lab07's own words for the shared tests: no Writen, no child here.
HINTS = {
    title_of(replies.test_megabytes): _N(
        "A write may take fewer bytes than asked (write(2)), and a full non-blocking socket "
        "none (EAGAIN): flush_to removes only what was written from client.unsent, and the rest "
        "waits for the next POLLOUT. Never drop or repeat bytes."),
    title_of(leaving.test_clients_that_disconnect): _N(
        "A client that resets is one connection's error: read_from or flush_to returns false, "
        "serve_clients closes that client and removes it, and the loop goes on serving the "
        "others. Never perr_exit on an error of one client."),
    title_of(leaving.test_client_gone_while_written_to): _N(
        "A write to a client that has gone raises SIGPIPE, which ends the whole server: "
        "install_stop_signals ignores SIGPIPE (or send with MSG_NOSIGNAL), and flush_to returns "
        "false on EPIPE or ECONNRESET."),
}

DESCRIPTIONS = {
    title_of(replies.test_megabytes): _N(
        "4 MiB of random bytes sent while the replies come back, byte-exact: one read per turn, "
        "the rest of each write kept for the next `POLLOUT`"),
    title_of(leaving.test_clients_that_disconnect): _N(
        "clients reset in mid-stream: `read_from` or `flush_to` fails, that client is closed, "
        "the server goes on"),
    title_of(leaving.test_client_gone_while_written_to): _N(
        "the `SIGPIPE` case: ignored, the write fails with `EPIPE` or `ECONNRESET`"),
}


HINT_USAGE = _N("options_from_args: getopt(argc, argv, \"c:\"); -c takes a number from 1 to 65536 "
                "(check the whole argument: std::from_chars, or strtol and its end pointer); then "
                "at most one operand, the port. Anything else: a usage message on stderr "
                "('usage: server [-c MAX_CLIENTS] [PORT]') and exit(2).")


@graded(points=1, hint=HINT_USAGE)
def test_bad_arguments(lab_dir, run_dir):
    """bad arguments (-c, PORT): a usage message and exit status 2

    `getopt`, each number checked whole; usage and exit status 2
    """
    startup.expect_usage_errors(
        lab_dir, run_dir,
        (["-c", "0"], ["-c", "abc"], ["-c"], ["-c", "-3"], ["-c", "4x"], ["-c", "65537"], ["-x"],
         ["abc"], ["0"], ["65536"], ["80x"], [""], ["6666", "6667"]))


# -------------------------------------------------------------- many clients

HINT_INTERLEAVED = _N("Each client has its own reply buffer (client.unsent) and its bytes come back "
                      "in the order they came, whatever the other clients do: one read per POLLIN "
                      "appended to that client's buffer, one flush when its socket is writable. A "
                      "blocking call anywhere (accept on a blocking listener, a read or a write "
                      "that waits) stops every client at once.")


@graded(points=3, hint=HINT_INTERLEAVED, requires=echo.EXCHANGE)
def test_interleaved_clients(lab_dir, run_dir, rng):
    """40 clients at once, their pieces interleaved at odd boundaries: every reply byte-exact

    each client sends up to 60 kB in random pieces while the others do and reads meanwhile
    """
    server = echo.start(lab_dir, run_dir)
    payloads = [protocol.binary(rng, rng.randint(1, 60_000)) for _ in range(40)]
    talkers = Talkers(server, payloads, rng)
    try:
        talkers.run(watch=lambda: expect(server.running(), echo.state(server)
                                         + echo.last_output(server)))
        talkers.check()
    finally:
        talkers.close()


HINT_ONE_PROCESS = _N("lab07 serves every client in the one process: no fork(), no thread. One "
                      "poll() over the self-pipe, the listening socket and every client's socket, "
                      "each non-blocking.")


@graded(points=2, hint=HINT_ONE_PROCESS, requires=echo.EXCHANGE)
def test_one_process(lab_dir, run_dir, rng):
    """one process: no child and no thread, ever, while 20 clients talk at once

    the process tree and the threads sampled at every step of the exchange
    """
    server = echo.start(lab_dir, run_dir)
    payloads = [protocol.text(rng, rng.randint(1000, 20_000)) for _ in range(20)]
    talkers = Talkers(server, payloads, rng, half_close=True)
    try:
        talkers.run(watch=lambda: expect_one_process(server, _("while 20 clients talked")))
        talkers.check()
    finally:
        talkers.close()
    expect_one_process(server, _("after 20 clients left"))


# ------------------------------------------------------------ back-pressure

HINT_BACK_PRESSURE = _N("Back-pressure: once a client is owed kMaxPending bytes, stop reading from it "
                        "(no POLLIN in events_for) until they drain; its bytes then wait in the "
                        "kernel and in the client, and TCP slows it down. A buffer that grows "
                        "with whatever a client sends lets one client that never reads take all "
                        "of the server's memory.")


@graded(points=3, hint=HINT_BACK_PRESSURE, requires=echo.EXCHANGE, timeout=120)
def test_slow_reader(lab_dir, run_dir, rng):
    """a client that sends and never reads: bounded memory, the others served, then all of it back

    it sends up to 48 MiB without reading: the server's memory grows by at most 16 MiB, another
    client is answered meanwhile, and once it reads it gets every byte
    """
    server = echo.start(lab_dir, run_dir)
    other = echo.connect(server)
    echo.check_reply(server, other, b"warm up\n")
    before = rss(server)
    slow = echo.connect(server)
    slow.sock.setblocking(False)
    chunk = (b"a slow reader sends this and never reads\n" * 1600)[:1 << 16]
    sent, peak = 0, before or 0
    sel = selectors.DefaultSelector()
    sel.register(slow.sock, selectors.EVENT_WRITE)
    # Send until the connection takes nothing more for a second: the server
    # has stopped reading (or until FLOOD bytes went: it never did).
    while sent < FLOOD:
        if not sel.select(timeout=1.0):
            break
        try:
            sent += slow.sock.send(chunk)
        except BlockingIOError:
            continue
        peak = max(peak, rss(server) or 0)
    sel.close()
    expect(server.running(), _("{state} while a client sent without reading").format(
        state=echo.state(server)) + echo.last_output(server))
    peak = max(peak, rss(server) or 0)
    growth = peak - (before or 0)
    expect(growth <= MAX_GROWTH,
           _("a client sent {sent} MiB without reading its replies, and the server's memory grew "
             "by {growth} MiB: it kept reading into an ever-growing buffer").format(
                 sent=f"{sent / (1 << 20):.0f}", growth=f"{growth / (1 << 20):.0f}"))
    echo.check_reply(server, other, protocol.text(rng, 2000),
                     what=_N("another client's reply while the slow reader read nothing"))
    other.close()
    # Now it reads: every byte it sent comes back, the server reading again
    # as its buffer drains.
    slow.sock.setblocking(True)
    slow.sock.shutdown(socket.SHUT_WR)
    data, _eof = slow.read_until_eof()
    expected = uppercase(chunk) * (sent // len(chunk)) + uppercase(chunk[:sent % len(chunk)])
    expect(len(data) == sent and data == expected,
           _("the slow reader sent {sent} bytes, then read {got} bytes back ({ended}): the "
             "server must read again once its buffer drains, and lose nothing").format(
                 sent=sent, got=len(data), ended=slow.waited.describe()))
    slow.close()


# ------------------------------------------------------------ many idle clients

HINT_IDLE = _N("One process serves as many clients as it has descriptors: raise the soft "
               "RLIMIT_NOFILE to the hard one (raise_descriptor_limit) and keep accepting while "
               "fewer than -c clients are connected (default 1024). An idle client costs a "
               "descriptor and a poll entry, nothing else.")


@graded(points=3, hint=HINT_IDLE, requires=echo.EXCHANGE, timeout=120)
def test_thousand_idle_clients(lab_dir, run_dir, rng):
    """1000 idle clients connected at once, then each one served

    started with a soft limit of 256 descriptors, hard 1024: 1000 clients connect and say nothing,
    the server accepts them all (its descriptors); then each sends a line and gets its reply
    """
    own_descriptors(IDLE_CLIENTS)
    # Started with a soft limit of 256 descriptors (the hard one stays 1024):
    # the server must raise it to serve 1000 clients.
    binary = echo.server_binary(lab_dir)
    try:
        server = net.start_server(
            "/bin/sh", cwd=run_dir, log_dir=run_dir, name="server",
            args=lambda port: ["-c", f'ulimit -Sn {SOFT_LIMIT} && exec "$0" "$1"', str(binary),
                               str(port)])
    except net.ServerDidNotStart as exc:
        fail(_("the server did not start: {why}").format(why=exc))
    baseline = server.num_fds() or 0
    socks = []
    try:
        for number in range(IDLE_CLIENTS):
            try:
                socks.append(socket.create_connection(("127.0.0.1", server.port),
                                                      timeout=scaled(5)))
            except OSError as exc:
                fail(_("idle client {number} of {count} could not connect ({why}); {state}").format(
                    number=number + 1, count=IDLE_CLIENTS, why=exc.strerror or exc,
                    state=echo.state(server)))
        accepted = wait_for(lambda: (server.num_fds() or 0) >= baseline + IDLE_CLIENTS, 10)
        expect(accepted, _("with {count} idle clients connected the server held {fds} "
                           "descriptors ({baseline} before them): it did not accept them all "
                           "({state})").format(count=IDLE_CLIENTS, fds=server.num_fds(),
                                               baseline=baseline, state=echo.state(server))
               + echo.last_output(server))
        expect_one_process(server, _("with 1000 idle clients"))
        payloads = [b"client %d of the crowd says hi\n" % n for n in range(IDLE_CLIENTS)]
        talkers = Talkers(server, payloads, random.Random(rng.random()), socks=socks)
        try:
            talkers.run()
            talkers.check()
        finally:
            talkers.selector.close()
    finally:
        for sock in socks:
            sock.close()


# ------------------------------------------------------------------- the cap

HINT_CAP = _N("-c MAX_CLIENTS: with that many clients connected, leave the listening socket out "
              "of the poll set (its fd -1): the next clients wait in the listen backlog, and "
              "poll sleeps (a readable listener left in the set would wake it at once, again and "
              "again). When one leaves, accept again.")


@graded(points=2, hint=HINT_CAP, requires=echo.EXCHANGE)
def test_cap_on_clients(lab_dir, run_dir, rng):
    """-c 3: a 4th client waits in the backlog, using no CPU, and is served when one leaves

    3 clients served; the 4th gets no reply for 1 s, while the server sleeps; one of the 3 leaves:
    the 4th is answered
    """
    server = start_with(lab_dir, run_dir, "-c", "3")
    clients = [echo.connect(server) for _ in range(3)]
    for client in clients:
        echo.check_reply(server, client, protocol.text(rng, 50))
    waiting = echo.connect(server)
    data = protocol.text(rng, 40)
    waiting.send(data)
    wait_for(lambda: procs.state_letter(server.pid) == "S", 1)
    before = procs.activity(server.pid)
    answered = not waiting.nothing_arrives_within(1.0)
    after = procs.activity(server.pid)
    expect(not answered, _("`server -c 3` with 3 clients connected answered a 4th one"))
    expect(before is not None and after is not None, echo.state(server))
    spent = after.since(before)
    expect(spent.wanted_cpu <= 0.05,
           _("at the cap (3 clients, a 4th waiting) the server was running or waiting for a CPU "
             "{share} of the time: a listener left in the poll set wakes poll at once, again and "
             "again").format(share=f"{spent.wanted_cpu:.0%}"))
    clients[0].close()
    received = waiting.recv_exactly(len(data))
    expect(received == uppercase(data),
           _("after one of the 3 clients left, the waiting client got {got} of {owed} reply "
             "bytes ({ended}): the server did not accept again ({state})").format(
                 got=len(received), owed=len(data), ended=waiting.waited.describe(),
                 state=echo.state(server)))
    for client in clients[1:] + [waiting]:
        client.close()


HINT_EMFILE = _N("accept() failing with EMFILE (no descriptor left) is no reason to stop: log it, "
                 "leave the listening socket out of the poll set for kAcceptRetryMs "
                 "(accept_paused_until) and go on serving the clients you have. Retrying at once "
                 "spins: the listener stays readable while the client waits in the backlog.")


@graded(points=2, hint=HINT_EMFILE, requires=echo.EXCHANGE)
def test_out_of_descriptors(lab_dir, run_dir, rng):
    """out of descriptors (EMFILE): keeps serving its clients, without spinning, and takes more later

    started with 16 descriptors, 14 clients connect: those accepted are served, the server
    neither exits nor spins; when they leave, the others are served
    """
    server = start_with(lab_dir, run_dir, limits={resource.RLIMIT_NOFILE: 16})
    count = 14
    clients = [echo.connect(server) for _ in range(count)]
    payloads = [protocol.text(rng, 30) for _ in range(count)]
    for client, payload in zip(clients, payloads):
        client.send(payload)
    # Who is served first is the server's choice: collect the replies as
    # they come, and wait until some have.
    answered = {}
    sel = selectors.DefaultSelector()
    for number, client in enumerate(clients):
        client.sock.setblocking(False)
        sel.register(client.sock, selectors.EVENT_READ, number)

    def collect(timeout: float) -> int:
        for key, _mask in sel.select(timeout=timeout):
            number = key.data
            try:
                piece = key.fileobj.recv(1 << 12)
            except BlockingIOError:
                continue
            except OSError:
                piece = b""
            answered[number] = answered.get(number, b"") + piece
            if not piece or len(answered[number]) >= len(payloads[number]):
                sel.unregister(key.fileobj)
        return len(answered)
    wait_for(lambda: collect(0.05) >= 6, 5)
    expect(server.running(), _("{state} after accept() ran out of descriptors").format(
        state=echo.state(server)) + echo.last_output(server))
    # The window of the measurement: 1 s with clients waiting in the
    # backlog (the replies of those served meanwhile are collected).
    before = procs.activity(server.pid)
    window_ends = time.monotonic() + 1.0
    while time.monotonic() < window_ends:
        collect(max(0.0, window_ends - time.monotonic()))
    after = procs.activity(server.pid)
    sel.close()
    expect(6 <= len(answered) < count, _("with 16 descriptors and 14 clients, only {count} clients "
                                         "were answered").format(count=len(answered)))
    rest = [i for i in range(count) if i not in answered]
    expect(before is not None and after is not None, echo.state(server))
    spent = after.since(before)
    expect(spent.wanted_cpu <= 0.3,
           _("out of descriptors, with clients waiting in the backlog, the server was running or "
             "waiting for a CPU {share} of the time: it retries accept() at once, again and "
             "again").format(share=f"{spent.wanted_cpu:.0%}"))
    for i in list(answered):
        clients[i].close()
    for i in rest:
        clients[i].sock.setblocking(True)
        received = clients[i].recv_exactly(len(payloads[i]))
        expect(received == uppercase(payloads[i]),
               _("after the first clients left, client {number} got {got} of {owed} reply bytes "
                 "({ended}): the server did not accept again after EMFILE ({state})").format(
                     number=i + 1, got=len(received), owed=len(payloads[i]),
                     ended=clients[i].waited.describe(), state=echo.state(server)))
        clients[i].close()


# ------------------------------------------------------------------ half-close

HINT_HALF_CLOSE = _N("read() returning 0 means the client has shut down its side, not that it has "
                     "gone: set read_closed, keep writing what it is owed, and close it only "
                     "once client.unsent is empty (finished).")


@graded(points=2, hint=HINT_HALF_CLOSE, requires=echo.EXCHANGE)
def test_half_close(lab_dir, run_dir, rng, preload):
    """a client that shuts down its side still gets every reply byte, then end of file

    its socket nearly full (two writes in three fail with `EAGAIN`): `abc` then
    `shutdown(SHUT_WR)` gets `ABC` and end of file; so do 5 clients sending 20 kB each
    """
    server = start_with_full_sockets(lab_dir, run_dir, preload)
    with echo.connect(server) as client:
        client.send(b"abc")
        client.sock.shutdown(socket.SHUT_WR)
        data, eof = client.read_until_eof()
        expect(data == b"ABC" and eof, _("sent 'abc' and shut down its side: got {got}, {ended}"
                                         ).format(got=repr(data[:40]),
                                                  ended=client.waited.describe()))
    payloads = [protocol.text(rng, 20_000) for _ in range(5)]
    talkers = Talkers(server, payloads, rng, half_close=True)
    try:
        talkers.run()
        talkers.check()
    finally:
        talkers.close()


HINT_PARTIAL = _N("A write to a non-blocking socket may take fewer bytes than asked, or fail with "
                  "EAGAIN: flush_to removes from client.unsent only what was written, keeps the "
                  "rest in order, and returns; POLLOUT says when to go on. Never treat EAGAIN as "
                  "the client's failure.")


@graded(points=3, hint=HINT_PARTIAL, requires=echo.EXCHANGE, timeout=90)
def test_partial_writes(lab_dir, run_dir, rng, preload):
    """partial writes and EAGAIN: 6 clients at once still get every byte, in order

    its sockets nearly full (two writes in three fail with `EAGAIN`, the third takes at most 7
    bytes): 6 clients send 30 kB each at once and read their replies
    """
    server = start_with_full_sockets(lab_dir, run_dir, preload)
    payloads = [protocol.binary(rng, 30_000) for _ in range(6)]
    talkers = Talkers(server, payloads, rng)
    try:
        talkers.run(watch=lambda: expect(server.running(), echo.state(server)
                                         + echo.last_output(server)))
        talkers.check()
    finally:
        talkers.close()


# ------------------------------------------------------------------ the stop

HINT_STOP = _N("On SIGTERM or SIGINT (the handler only sets g_stop_signal and writes a byte to "
               "the self-pipe): close the listening socket at once, keep serving the clients "
               "connected for kGraceSeconds, close those still there, print the summary line and "
               "return 0 from main.")


@graded(points=3, hint=HINT_STOP, requires=echo.EXCHANGE, timeout=90)
def test_graceful_stop(lab_dir, run_dir, rng):
    """SIGTERM: port closed at once, the clients served finish, the idle one is closed after 3 s, exit 0

    3 clients mid-conversation finish within the grace; the idle one is closed after it; the
    summary line counts them
    """
    server = echo.start(lab_dir, run_dir)
    port = server.port
    finishers = [Conversation(server, rng, 100_000) for _ in range(3)]
    idle = Conversation(server, rng, 10)
    server.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    closed = wait_for(lambda: not net.is_listening(server.pid, port) or not server.running(), 1)
    expect(server.running() or time.monotonic() - stopped_at >= GRACE - 0.5,
           _("the server {ended} at once on SIGTERM, with 4 clients connected: they get "
             "{grace} s to finish").format(ended=server.describe_exit(), grace=GRACE)
           + echo.last_output(server))
    expect(closed, _("{seconds} s after SIGTERM the server still listened on port {port}: new "
                     "clients must be refused at once").format(seconds=f"{scaled(1):.0f}",
                                                              port=port))
    expect(net.connection_refused(port),
           _("a new client could still connect to port {port} after SIGTERM").format(port=port))
    for number, talk in enumerate(finishers, start=1):
        echo.check_reply(server, talk.client, talk.rest,
                         what=_("client {number} of 3 finishing within the grace period: the "
                                "rest of its reply").format(number=number))
        talk.client.sock.shutdown(socket.SHUT_WR)
        _data, eof = talk.client.read_until_eof()
        expect(eof, _("client {number} had half-closed after its reply; its connection was "
                      "still open: {ended}").format(number=number,
                                                    ended=talk.client.waited.describe()))
        talk.client.close()
    _data, eof = idle.client.read_until_eof(stall=GRACE + 10)
    ended_after = time.monotonic() - stopped_at
    expect(eof, _("the idle client was still connected {seconds} s after SIGTERM, with a grace "
                  "period of {grace} s").format(seconds=f"{ended_after:.1f}", grace=GRACE))
    expect(ended_after >= GRACE - 0.5,
           _("the idle client's connection ended {seconds} s after SIGTERM, before the grace "
             "period of {grace} s was over").format(seconds=f"{ended_after:.1f}", grace=GRACE))
    idle.client.close()
    code = server.wait_exit(10)
    expect(code == 0, _("after SIGTERM the server {ended}, not status 0").format(
        ended=server.describe_exit()) + echo.last_output(server))
    expect(summary_of(server) == (4, 4, 1),
           _("no summary line 'served 4 clients, at most 4 at once, 1 cut off after the grace "
             "period' (4 clients, 1 still idle at the end)") + echo.last_output(server))


@graded(points=1, hint=HINT_STOP, requires=echo.SERVER_STARTS)
def test_sigint_when_idle(lab_dir, run_dir):
    """SIGINT with no client: exits 0 at once, with the summary line

    `SIGINT` stops it like `SIGTERM`: exit status 0 and `served 0 clients, ...`
    """
    server = echo.start(lab_dir, run_dir)
    server.send_signal(signal.SIGINT)
    code = server.wait_exit(2)
    expect(code is not None, _("{seconds} s after SIGINT the server, with no client, was still "
                               "running").format(seconds=f"{scaled(2):.0f}"))
    expect(code == 0, _("after SIGINT the server {ended}, not status 0").format(
        ended=server.describe_exit()))
    expect(summary_of(server) == (0, 0, 0),
           _("after SIGINT with no client the summary line was missing or wrong")
           + echo.last_output(server))


HINT_STOP_RACE = _N("A flag alone has a race: the loop checks g_stop_signal, SIGTERM arrives and "
                    "its handler sets the flag, and then poll sleeps -- for ever, if no client "
                    "comes. The handler also writes a byte to the self-pipe, whose read end is in "
                    "every poll: the byte waits there, and poll returns at once.")

@graded(points=2, hint=HINT_STOP_RACE, requires=echo.SERVER_STARTS)
def test_stop_signal_as_it_goes_to_sleep(lab_dir, run_dir, rng, preload):
    """a SIGTERM that arrives as the server goes to sleep still stops it

    every `poll` starts 2 s late; `SIGTERM` is sent just after a client leaves, as the server
    goes back to sleep: it must exit 0 within a few seconds
    """
    env = dict(os.environ, LD_PRELOAD=str(preload("late_sleep")),
               FORKLAB_LATE_SLEEP_FIXED_US=str(STOP_RACE_DELAY_US))
    server = echo.start(lab_dir, run_dir, env=env)
    client = echo.connect(server)
    echo.check_reply(server, client, protocol.text(rng, 30))
    # The server sleeps in poll.  Once this client leaves, its end of file
    # wakes the server, which closes it and goes back to sleep: the shim
    # says when that sleep's delay begins, and the signal is sent in it --
    # after every check the server makes, before its poll.
    wait_for(in_its_wait(server), 10)
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
