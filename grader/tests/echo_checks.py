"""Graded tests and helpers shared by the three server labs.

lab02_single, lab03_fork and lab04_sigchld build the same uppercase-echo
server in three steps, so lab03 and lab04 are graded on top of lab02's
tests: their modules import the test functions defined here.  pytest runs an
imported test as an item of the importing module, so `request.module.LAB`
and the score table name that module's lab.

The protocol: every byte a client sends comes back, in order, with a-z
turned into A-Z and every other byte unchanged; a reply never waits for a
newline.

No test sleeps to synchronise: each polls for the state it needs
(timing.wait_for) with a deadline, and says what it saw when the deadline
passed.
"""

import errno
import os
import selectors
import shlex
import signal
import socket
import string
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psutil
import pytest

from harness import diagnose, graded, net, procs, replace_hint
from harness.expect import expect, expect_reply, fail, show
from harness.timing import scaled, wait_for
from harness.kit import _N
from i18n import _  # noqa: F401 -- its titles and hints are translated

SERVER_STARTS = "server starts"
ONE_CLIENT = "replies in uppercase to one client"
# What every test that talks to the server needs: when the basic exchange
# fails (no reply at all, a crash), the tests built on it are not run, so the
# student reads one cause instead of a cascade of unrelated hints.
EXCHANGE = (SERVER_STARTS, ONE_CLIENT)

# Seconds a client waits for a reply before the test gives up on it.
REPLY_TIMEOUT = 5

# What the course note's server prints, and the kit's servers with it.
ACCEPTING = "Accepting connections"
RECEIVED = "received from {address} at PORT {port}"
CLOSED = "the other side has been closed."

# Text lines: letters, digits, spaces and punctuation that is not next to a
# letter in ASCII; binary() adds everything else (NUL, bytes >= 0x80...).
TEXT_ALPHABET = (string.ascii_letters * 3 + string.digits + "  .,;:!?'-()").encode()


# ------------------------------------------------------------------ inputs

def text(rng, size: int, newline: bool = True) -> bytes:
    """size random bytes of text lines, ending with a newline (unless
    newline=False: then no newline at all).  Always holds a lowercase letter."""
    length = max(size - 1, 1) if newline else max(size, 1)
    body = bytearray(rng.choice(TEXT_ALPHABET) for _ in range(length))
    body[0] = ord(rng.choice(string.ascii_lowercase))
    if not newline:
        return bytes(body)
    at = rng.randint(20, 80)
    while at < len(body):
        body[at] = ord("\n")
        at += rng.randint(20, 80)
    return bytes(body) + b"\n"


def binary(rng, size: int) -> bytes:
    """Every byte value 0-255 at least once, in random order, then random
    bytes up to size, ending with a newline."""
    head = bytearray(range(256))
    rng.shuffle(head)
    tail = rng.randbytes(max(size - len(head) - 1, 0))
    return bytes(head) + tail + b"\n"


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


def connect(server, timeout: float = REPLY_TIMEOUT) -> net.Client:
    try:
        return net.Client(server.port, timeout=timeout)
    except OSError as exc:
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
    try:
        expect_reply(data, received, what=what)
    except pytest.fail.Exception as exc:
        fail(f"{exc.msg}\n  ({state(server)})")


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
    or the server itself when it has none (lab02, or a server with threads)."""
    children = server.live_children()
    if not children:
        return server.process()
    return max(children, key=lambda p: p.create_time() if procs.status_of(p) else 0)


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


def descriptors_after_settling(server, baseline, timeout: float = 3):
    """Wait until the server holds no more open descriptors than baseline;
    returns how many it holds then (None once it has exited)."""
    def settled():
        now = server.num_fds()
        return now is None or baseline is None or now <= baseline
    wait_for(settled, timeout)
    return server.num_fds()


def describe_status(status) -> str:
    """A wait status (as exit_status() reads it) in words."""
    if status is None:
        return _("ended (its status could not be read)")
    return procs.describe_returncode(os.waitstatus_to_exitcode(status))


def connection_state(pid: int, client_port: int):
    """TCP state (psutil.CONN_*) of process pid's socket connected to
    client_port, or None if it holds no such socket."""
    for c in net.tcp_sockets(pid):
        if c.raddr and c.raddr.port == client_port:
            return c.status
    return None


# ------------------------------------------------------------------ hints

HINT_STARTS = _N("Run `./server 6666` in the lab folder: it must print 'Accepting connections ...' "
                 "and keep running (`ss -ltnp` shows it listening). Check main, port_from_args and "
                 "open_listener (Socket, setsockopt SO_REUSEADDR, Bind, Listen).")
HINT_USAGE = _N("port_from_args: with one argument that is not a number from 1 to 65535, or with "
                "more than one argument, print a usage message on stderr ('usage: server [PORT]') "
                "and exit(2). Check the whole argument (std::from_chars, or strtol and its end "
                "pointer): atoi() turns 'abc' into 0 and '80x' into 80.")
HINT_IN_USE = _N("When bind() fails the server must exit with status 1 and say why: Bind's "
                 "perr_exit prints 'bind to 0.0.0.0:PORT: Address already in use'. Don't ignore "
                 "or retry the failure.")
HINT_REUSEADDR = _N("open_listener: setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) "
                    "before Bind. Without it the port stays taken for up to a minute while the old "
                    "server's connections linger in TIME_WAIT (see `ss -tan`).")
HINT_ONE_CLIENT = _N("serve_client: Read into a buffer, uppercase the n bytes read, Writen all n "
                     "of them back, and loop until Read returns 0.")
HINT_SEQUENTIAL = _N("After a client closes, the server must be ready for the next: serve_client "
                     "returns at end of file, connfd is closed, and the loop calls Accept again.")
HINT_NO_NEWLINE = _N("Answer each Read at once with what it returned: TCP has no lines, and a "
                     "client may never send '\\n'. Don't read with Readline or fgets here.")
HINT_MANY_LINES = _N("One Read may return many lines: uppercase and send back all n bytes it "
                     "returned, not only the first line.")
HINT_LONG_LINE = _N("A line longer than your buffer arrives in several Reads: answer each piece, "
                    "never cut the line at the buffer's size or drop the rest (the seed's buffer "
                    "holds 80 bytes).")
HINT_MEGABYTES = _N("Send each reply with Writen, not Write: a socket write may take fewer bytes "
                    "than asked. 4 MiB arrive in many Reads of any size: every byte of every Read "
                    "goes back, in order, none twice.")
HINT_BYTES = _N("uppercase: only a-z change. Pass toupper() an unsigned char (a char >= 0x80 is "
                "negative), or test 'a' <= c && c <= 'z' yourself. The data is bytes: use the "
                "count Read returned, never strlen() -- NUL is data.")
HINT_FRAGMENTS = _N("Each Read may return only a few bytes of what the client wrote: reply to "
                    "each piece as it comes.")
HINT_DISCONNECT = _N("serve_client: when Read or Writen returns -1 (ECONNRESET, EPIPE), log the "
                     "error and return; the caller closes connfd and goes on. An error of one "
                     "connection must never end the server (no perr_exit there).")
HINT_SIGPIPE = _N("Ignore SIGPIPE at start-up (ignore_sigpipe: sigaction with SIG_IGN). Writing to "
                  "a client that has gone then fails with EPIPE instead of killing the process, "
                  "and serve_client ends that connection.")
HINT_CHILD_ENDS = _N("A child serves one client, then ends: when Read returns 0 or Writen fails "
                     "(EPIPE), serve_client returns, and the child calls Close(connfd) and "
                     "_exit(0) -- it never goes back into the accept loop.")
HINT_LOG = _N("Print 'Accepting connections ...' once at start, 'received from IP at PORT N' "
              "(inet_ntop, ntohs) for each Read and 'the other side has been closed.' at end of "
              "file. In main, before anything is printed: setvbuf(stdout, nullptr, _IOLBF, 0). "
              "Into a file, stdout is otherwise fully buffered: lines wait in a buffer that "
              "_exit() drops, or that a child copies and prints a second time.")


# ------------------------------------------------------- the shared tests

@graded(points=1, hint=HINT_STARTS)
def test_server_starts(lab_dir, run_dir):
    """server starts"""
    server = start(lab_dir, run_dir)
    expect(server.running(), _("the server listened on port {port}, then {state}").format(
        port=server.port, state=state(server)))


@graded(points=1, hint=HINT_USAGE)
def test_bad_arguments(lab_dir, run_dir):
    """bad arguments: a usage message and exit status 2"""
    for args in (["abc"], ["0"], ["65536"], ["-1"], ["80x"], [""], ["6666", "6667"]):
        shown = " ".join(["server"] + [shlex.quote(a) for a in args])
        run = procs.run("server", [server_binary(lab_dir), *args], log_dir=run_dir, timeout=3)
        said = (run.stdout + run.stderr).decode(errors="replace").strip()
        expect(not run.timed_out,
               _("`{command}` was still running {seconds} s later: it took that as a port"
                 ).format(command=shown, seconds=f"{scaled(3):.0f}"))
        expect(run.returncode == 2,
               _("`{command}` exited with status {status}, not 2; it printed: {output}").format(
                   command=shown, status=run.returncode, output=repr(said[:300])))
        expect("usage" in said.lower(),
               _("`{command}` exited with status 2 but printed no usage message: {output}"
                 ).format(command=shown, output=repr(said[:300])))


@graded(points=1, hint=HINT_IN_USE)
def test_port_in_use(lab_dir, run_dir):
    """port in use: a clear message and exit status 1"""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        run = procs.run("server", [server_binary(lab_dir), str(port)], log_dir=run_dir,
                       timeout=5)
    said = (run.stdout + run.stderr).decode(errors="replace").strip()
    expect(not run.timed_out,
           _("`server {port}` was still running {seconds} s later, although another program "
             "listens on port {port}; it printed: {output}").format(
                 port=port, seconds=f"{scaled(5):.0f}", output=repr(said[:300])))
    expect(run.returncode == 1,
           _("`server {port}`, with port {port} taken, exited with status {status}, not 1; it "
             "printed: {output}").format(port=port, status=run.returncode,
                                         output=repr(said[:300])))
    expect("in use" in said,
           _("`server {port}`, with port {port} taken, exited with status 1 but its message "
             "does not say the address is in use: {output}").format(port=port,
                                                                   output=repr(said[:300])))


# TCP states (include/net/tcp_states.h) in which a closed connection still
# holds its local port: FIN_WAIT1, FIN_WAIT2, TIME_WAIT.
LINGERING_STATES = {"04", "05", "06"}


def lingering_on(port: int) -> bool:
    """True if a connection that was closed on our side still holds `port`.
    Reads /proc/net/tcp{,6} directly: psutil.net_connections() would map
    every socket of the machine to its process, which is slow on a busy one."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] in LINGERING_STATES \
                    and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


@graded(points=1, hint=HINT_REUSEADDR, requires=EXCHANGE)
def test_restarts_on_the_same_port(lab_dir, run_dir, rng):
    """restarts at once on the same port (SO_REUSEADDR)"""
    first = start(lab_dir, run_dir, name="server")
    port = first.port
    client = connect(first)
    check_reply(first, client, text(rng, 40))
    # Stopped with a client connected, the server's end closes first, so its
    # side of the connection lingers in TIME_WAIT, holding the port.
    first.stop()
    client.read_until_eof(timeout=5)
    client.close()
    expect(wait_for(lambda: lingering_on(port), 5),
           _("grader: no connection of the stopped server lingered on port {port}").format(
               port=port))
    second = start_on_port(lab_dir, run_dir, port, name="server-restarted")
    in_use = any(err == errno.EADDRINUSE for _port, err in diagnose.bound_ports(second))
    if not net.is_listening(second.pid, port) and not in_use and "in use" not in second.output():
        # Its bind() did not fail with EADDRINUSE: SO_REUSEADDR is not the point.
        replace_hint(_N("The restarted server did not fail to bind its port: see what it "
                        "printed and how it ended, and run it twice in a row yourself "
                        "(`./server 7777`, Ctrl-C, `./server 7777`)."))
    expect(net.is_listening(second.pid, port),
           _("a server started on port {port} right after the first one was stopped (with a "
             "connection of the first one in TIME_WAIT) {ended} instead of listening").format(
                 port=port, ended=second.describe_exit()) + last_output(second))
    with connect(second) as again:
        check_reply(second, again, text(rng, 40))


@graded(points=2, hint=HINT_ONE_CLIENT, requires=SERVER_STARTS)
def test_one_client(lab_dir, run_dir, rng):
    """replies in uppercase to one client"""
    server = start(lab_dir, run_dir)
    with connect(server) as client:
        for number in range(1, 4):
            check_reply(server, client, text(rng, rng.randint(10, 70)),
                        what=_("the reply to line {number}").format(number=number))


@graded(points=2, hint=HINT_SEQUENTIAL, requires=EXCHANGE)
def test_clients_one_after_another(lab_dir, run_dir, rng):
    """serves clients one after another"""
    server = start(lab_dir, run_dir)
    for number in range(1, 6):
        client = connect(server)
        for line in range(1, 3):
            check_reply(server, client, text(rng, rng.randint(10, 70)),
                        what=_("client {number} of 5, line {line}: the reply").format(
                            number=number, line=line))
        leave(server, client)


@graded(points=2, hint=HINT_NO_NEWLINE, requires=EXCHANGE)
def test_no_newline_needed(lab_dir, run_dir, rng):
    """replies without waiting for a newline"""
    server = start(lab_dir, run_dir)
    with connect(server) as client:
        for size in (1, 7, 40):
            check_reply(server, client, text(rng, size, newline=False),
                        what=_("the reply to {size} byte(s) without a newline").format(
                            size=size))


@graded(points=1, hint=HINT_MANY_LINES, requires=EXCHANGE)
def test_many_lines_at_once(lab_dir, run_dir, rng):
    """replies to many lines sent at once"""
    server = start(lab_dir, run_dir)
    lines = b"".join(text(rng, rng.randint(5, 60)) for _ in range(50))
    with connect(server) as client:
        check_reply(server, client, lines, chunk=len(lines),
                    what=_("the reply to 50 lines ({size} bytes) sent in one write").format(
                        size=len(lines)))


@graded(points=2, hint=HINT_LONG_LINE, requires=EXCHANGE)
def test_long_line(lab_dir, run_dir, rng):
    """replies to a 100 kB line (the seed's buffer holds 80 bytes)"""
    server = start(lab_dir, run_dir)
    line = text(rng, 100_000, newline=False) + b"\n"
    with connect(server, timeout=10) as client:
        check_reply(server, client, line, what=_N("the reply to a line of 100 000 bytes"))


@graded(points=2, hint=HINT_MEGABYTES, requires=EXCHANGE)
def test_megabytes(lab_dir, run_dir, rng):
    """replies to megabytes of data sent while it replies"""
    server = start(lab_dir, run_dir)
    data = binary(rng, 4 << 20)
    with connect(server, timeout=10) as client:
        check_reply(server, client, data, what=_N("the reply to 4 MiB of data"))


@graded(points=2, hint=HINT_BYTES, requires=EXCHANGE)
def test_every_byte_value(lab_dir, run_dir, rng):
    """NUL and bytes >= 0x80 come back unchanged, a-z in uppercase"""
    server = start(lab_dir, run_dir)
    with connect(server) as client:
        check_reply(server, client, bytes(range(256)) + b"\n",
                    what=_N("the reply to the byte values 0 to 255, in order"))
        for _ in range(3):
            data = binary(rng, rng.randint(300, 3000))
            check_reply(server, client, data, chunk=rng.randint(50, 500),
                        what=_N("the reply to random bytes"))


@graded(points=1, hint=HINT_FRAGMENTS, requires=EXCHANGE)
def test_small_fragments(lab_dir, run_dir, rng):
    """replies to input sent in small fragments"""
    server = start(lab_dir, run_dir)
    data = text(rng, 240)
    with connect(server) as client:
        check_reply(server, client, data, chunk=3, pause=0.002,
                    what=_N("the reply to 240 bytes sent 3 bytes at a time"))


def flood(client, limit: int = 4 << 20) -> None:
    """Send without reading until the connection is full, and wait until some
    reply has come back: closed now, with that reply unread, the connection
    is reset while the server is busy writing to it."""
    sock = client.sock
    sock.setblocking(False)
    chunk = b"flood of lowercase text\n" * 2730
    sent = 0
    while sent < limit:
        try:
            sent += sock.send(chunk)
        except BlockingIOError:
            break
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ)
    sel.select(timeout=scaled(5))
    sel.close()


@graded(points=2, hint=HINT_DISCONNECT, requires=EXCHANGE)
def test_clients_that_disconnect(lab_dir, run_dir, rng):
    """survives clients that disconnect or reset mid-stream"""
    server = start(lab_dir, run_dir)
    steps = []

    impatient = connect(server)
    impatient.reset()
    steps.append(_("a client reset its connection right after connecting"))
    wait_until_idle(server)

    resetter = connect(server)
    check_reply(server, resetter, text(rng, 50))
    leave(server, resetter, reset=True)
    steps.append(_("a client reset its connection while the server waited for its next bytes"))

    flooder = connect(server)
    flood(flooder)
    leave(server, flooder)
    steps.append(_("a client closed with its reply unread while the server was writing to it"))

    expect(server.running(), _("{state} after: {steps}").format(
        state=state(server), steps=_("; ").join(steps)) + last_output(server))
    with connect(server) as client:
        check_reply(server, client, text(rng, 60),
                    what=_N("after three clients disconnected abruptly, a new client's reply"))


@graded(points=2, hint=HINT_SIGPIPE, requires=EXCHANGE)
def test_client_gone_while_written_to(lab_dir, run_dir, rng):
    """survives a client that closes while its reply is written (SIGPIPE)"""
    server = start(lab_dir, run_dir)
    client = connect(server)
    check_reply(server, client, text(rng, 20))
    port = client.local_port()
    serving = serving_process(server)
    is_child = serving.pid != server.pid
    who = (_("the child (pid {pid}) serving the client").format(pid=serving.pid) if is_child
           else _("the server"))
    wait_until_accepting(server)
    with ExitStack() as stack:
        if is_child:
            # The parent waits, so that the child's exit status stays there for
            # us to read (lab04's parent would reap it at once).
            stack.enter_context(stopped(server.pid, _("the server")))
        # While the serving process is stopped, the client sends 32 kB and
        # closes.  Once it runs again, its first reply makes the client's
        # kernel answer with a reset, and its next write finds the client
        # gone: EPIPE if SIGPIPE is ignored, death by SIGPIPE if not.
        with stopped(serving.pid, who):
            client.send(text(rng, 32 * 1024))
            client.close()
            expect(wait_for(lambda: connection_state(serving.pid, port) == psutil.CONN_CLOSE_WAIT,
                            5),
                   _("grader: {who} did not see the client close within {seconds} s").format(
                       who=who, seconds=f"{scaled(5):.0f}"))
        if is_child:
            wait_for(lambda: not procs.is_live(serving), 5)
        else:
            wait_for(lambda: not server.running() or connection_state(server.pid, port) is None,
                     5)
        if is_child:
            if procs.is_live(serving):
                replace_hint(HINT_CHILD_ENDS)
            expect(not procs.is_live(serving),
                   _("{who} was still running {seconds} s after its client had gone").format(
                       who=who, seconds=f"{scaled(5):.0f}"))
            status = wait_status(serving.pid)
            expect(status is None or not status & 0x7F,
                   _("{who} {ended} when it wrote to the client that had closed").format(
                       who=who, ended=describe_status(status)))
    if not server.running() and server.returncode != -signal.SIGPIPE:
        replace_hint(HINT_DISCONNECT)  # it did not die of SIGPIPE
    expect(server.running(),
           _("{state} when it wrote to a client that had closed").format(state=state(server))
           + last_output(server))
    replace_hint(HINT_SEQUENTIAL)
    with connect(server) as again:
        check_reply(server, again, text(rng, 40), what=_N("the next client's reply"))


@graded(points=1, hint=HINT_LOG, requires=EXCHANGE)
def test_log_lines(lab_dir, run_dir, rng):
    """logs each client as it happens, each line once"""
    server = start(lab_dir, run_dir)
    for number in range(1, 4):
        client = connect(server)
        check_reply(server, client, text(rng, 30))
        port = client.local_port()
        leave(server, client)
        received = RECEIVED.format(address="127.0.0.1", port=port)
        logged = wait_for(lambda: received in server.output()
                          and server.output().count(CLOSED) >= number, 5)
        output = server.output()
        expect(received in output,
               _("{seconds} s after client {number} (port {port}) was answered and had closed, "
                 "the server's output had no line '{line}'; it had {count} line(s): {output}"
                 ).format(seconds=f"{scaled(5):.0f}", number=number, port=port, line=received,
                          count=len(output.splitlines()),
                          output=show(output[-200:].encode(), 200)))
        expect(logged, _("{seconds} s after client {number} had closed, the server's output had "
                         "{count} line(s) '{line}', not {number}").format(
                             seconds=f"{scaled(5):.0f}", number=number,
                             count=output.count(CLOSED), line=CLOSED))
    output = server.output()
    expect(output.count(ACCEPTING) == 1,
           _("'{line}' appears {count} times in the server's output after 3 clients, not once"
             ).format(line=ACCEPTING, count=output.count(ACCEPTING)))
    expect(output.count(CLOSED) == 3,
           _("'{line}' appears {count} times in the server's output after 3 clients, not 3"
             ).format(line=CLOSED, count=output.count(CLOSED)))

