"""Loopback networking: free ports, starting a server and waiting until it
listens (for the graded tests, the bench and the demo), Python clients."""

import errno
import os
import selectors
import socket
import struct
import time
from dataclasses import dataclass

from grader.i18n import _

from . import diagnose, procs, sockdiag, timeline
from .timing import CEILING_SECONDS, STALL_SECONDS, deadline_passed, scaled, wait_until

# The start of what the test's clients sent, for the diagnosis of a failed
# test (a reply printed to stdout instead of sent back); scoring.py clears it.
sent_in_this_test = []
SENT_KEPT = 16


def remember_sent(data: bytes) -> None:
    if len(sent_in_this_test) < SENT_KEPT:
        sent_in_this_test.append(bytes(data[:256]))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing uses right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening_inodes() -> dict:
    """{socket inode: port} of every listening TCP socket of the machine
    (sock_diag: the listening sockets only, however many connections the
    machine holds)."""
    return {s.inode: s.local_port for s in sockdiag.tcp_sockets(sockdiag.LISTEN)}


def _socket_inodes(pid: int) -> set:
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def listening_ports(pid: int) -> list:
    """The ports of the listening TCP sockets process pid holds ([] once it has exited)."""
    held = _socket_inodes(pid)
    if not held:
        return []
    return sorted({port for inode, port in _listening_inodes().items() if inode in held})


def connection_state(pid: int, remote_port: int):
    """The TCP state (sockdiag.ESTABLISHED, CLOSE_WAIT...) of process pid's
    socket connected to remote_port, or None if it holds no such socket."""
    held = _socket_inodes(pid)
    every_state = range(sockdiag.ESTABLISHED, sockdiag.CLOSING + 1)
    for s in sockdiag.tcp_sockets(*every_state):
        if s.remote_port == remote_port and s.inode in held:
            return s.state
    return None


def is_listening(pid: int, port: int, descendants: bool = False) -> bool:
    """True if process pid (or, with descendants, any process under it)
    listens on port."""
    pids = [pid] + (procs.descendant_pids(pid) if descendants else [])
    return any(port in listening_ports(p) for p in pids)


def said_port_in_use(program) -> bool:
    """The program has exited saying that an address is in use: someone took
    its port between free_port() and its bind()."""
    return not program.running() and "in use" in program.output()


def start_on_free_port(name: str, argv, *, log_dir, timeout: float = 10, listening=None,
                       port_taken=said_port_in_use, attempts: int = 3,
                       **start_options) -> procs.Program:
    """Start the program argv(port) with procs.start on a free port, and wait
    (program.seconds(timeout)) until listening(program) -- by default: it
    listens on its port -- or it exits.  One that exits because its port was
    taken (port_taken(program)) is started again on another port, `attempts`
    times in all.  Returns the program, whether it listens or not: the caller
    tells why not (program.port is the port it was given)."""
    if listening is None:
        def listening(program):
            return is_listening(program.pid, program.port)
    for attempt in range(attempts):
        port = free_port()
        program = procs.start(name, argv(port), log_dir=log_dir, **start_options)
        program.port = port
        wait_until(lambda: listening(program) or not program.running(),
                         program.seconds(timeout))
        if attempt + 1 < attempts and port_taken(program):
            continue
        return program


class ServerDidNotStart(Exception):
    pass


def listening_elsewhere(program, port: int) -> list:
    """The ports the program's own process listens on, other than `port`."""
    return [other for other in listening_ports(program.pid) if other != port]


def start_server(binary, *, cwd, log_dir, name, args=None, limits=None, env=None,
                 timeout: float = 10) -> procs.Program:
    """Start `binary PORT` on a free port and wait until it listens there.

    Raises ServerDidNotStart with what was observed when it exits or does not
    listen in time.  A port taken by someone else between free_port() and the
    server's bind() is retried with another port."""
    def argv(port):
        return [binary, str(port)] if args is None else [binary, *args(port)]

    def port_taken(program):
        return (not program.running() and not bound_elsewhere(program)
                and program.returncode == 1 and "in use" in program.output())

    program = start_on_free_port(name, argv, log_dir=log_dir, cwd=cwd, limits=limits, env=env,
                                 timeout=timeout, port_taken=port_taken,
                                 # any port: one on another port is reported at once
                                 listening=lambda p: listening_ports(p.pid))
    port = program.port
    if is_listening(program.pid, port):
        timeline.watch(program)  # the test's timeline (harness/timeline.py)
        return program
    elsewhere = listening_elsewhere(program, port)
    if program.running():
        program.stop()
        if elsewhere:
            raise ServerDidNotStart(
                _("`{name} {port}` listens on port {ports}, not on port {port}, the port "
                  "given as its argument").format(name=name, port=port,
                                                  ports=", ".join(map(str, elsewhere))))
        raise ServerDidNotStart(
            _("the server was still running but not listening on port {port} after "
              "{seconds} s").format(port=port, seconds=f"{scaled(timeout):.0f}"))
    bound = bound_elsewhere(program)
    if bound:
        raise ServerDidNotStart(
            _("`{name} {port}` bound port {ports}, not port {port}, the port given as its "
              "argument; then it {ended}").format(name=name, port=port,
                                                  ports=", ".join(map(str, bound)),
                                                  ended=program.describe_exit()))
    listened = diagnose.listened_ports(program)
    if port in listened:
        raise ServerDidNotStart(_("`{name} {port}` listened on port {port}, then {ended} "
                                  "(a server keeps accepting clients until it is stopped)"
                                  ).format(name=name, port=port,
                                           ended=program.describe_exit()))
    if listened:
        raise ServerDidNotStart(
            _("`{name} {port}` listened on port {ports}, not on port {port}, the port given "
              "as its argument, then {ended}").format(name=name, port=port,
                                                      ports=", ".join(map(str, listened)),
                                                      ended=program.describe_exit()))
    raise ServerDidNotStart(_("`{name} {port}` {ended} before it listened on port {port}"
                              ).format(name=name, port=port, ended=program.describe_exit()))


def bound_elsewhere(program) -> list:
    """The ports other than its own that the program bound (the crash
    reporter's records)."""
    return sorted({p for p, _err in diagnose.bound_ports(program) if p and p != program.port})


@dataclass(frozen=True)
class Waited:
    """How a Client's last wait ended: `done` (all it waited for came),
    `closed` or `reset` by the server, `stalled` (no byte moved for the
    client's stall limit), or `ceiling` (bytes still moving when
    CEILING_SECONDS passed)."""
    ending: str
    moved: int  # bytes received (and sent, for exchange()) during the wait
    seconds: float
    idle: float  # seconds since the last byte moved

    def describe(self) -> str:
        """'' when done, else what the wait saw, in the student's words."""
        if self.ending == "stalled":
            if not self.moved:
                return _("no byte came for {seconds} s").format(seconds=f"{self.idle:.0f}")
            return _("no byte came for {seconds} s after {count} bytes").format(
                seconds=f"{self.idle:.0f}", count=f"{self.moved:,}")
        if self.ending == "ceiling":
            rate = self.moved / max(self.seconds, 1e-9) / 1000
            return _("bytes were still coming, at {rate} kB/s, when the {ceiling} s ceiling "
                     "passed").format(rate=f"{rate:.1f}", ceiling=f"{self.seconds:.0f}")
        if self.ending == "closed":
            return _("the server closed the connection")
        if self.ending == "reset":
            return _("the server reset the connection")
        return ""


def _out_of_time(now: float, last_move: float, limit: float, ceiling: float):
    """How a wait on bytes ends at `now`: "stalled" when nothing moved for
    `limit` seconds, "ceiling" past its ceiling, None while it may go on."""
    if now - last_move >= limit:
        return "stalled"
    if now >= ceiling:
        return "ceiling"
    return None


class Client:
    """One TCP connection to the server under test.  Its waits follow
    progress: a wait goes on while bytes keep moving, and ends once none has
    moved for `stall` seconds (scaled; default timing.STALL_SECONDS), or at
    timing.CEILING_SECONDS (scaled) however steady the flow.  `waited` says
    how the last one ended."""

    def __init__(self, port: int, stall: float = None):
        self.stall = scaled(stall if stall else STALL_SECONDS)
        self.waited = Waited("done", 0, 0.0, 0.0)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=self.stall)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def local_port(self) -> int:
        return self.sock.getsockname()[1]

    def send(self, data: bytes) -> None:
        remember_sent(data)
        self.sock.sendall(data)

    def _clock(self, stall: float = None):
        """(stall limit, ceiling) of a wait starting now."""
        return (scaled(stall) if stall else self.stall,
                time.monotonic() + scaled(CEILING_SECONDS))

    def _ended(self, ending: str, moved: int, started: float, last_move: float) -> None:
        now = time.monotonic()
        self.waited = Waited(ending, moved, now - started, now - last_move)
        if ending in ("stalled", "ceiling"):
            deadline_passed(self.waited.describe())

    def _receive(self, want: int, stall: float = None) -> tuple:
        """Read until `want` bytes came (None: until the server closes), the
        server closed or reset, or the wait stalled or hit its ceiling.
        Returns (bytes, how it ended)."""
        limit, ceiling = self._clock(stall)
        started = last_move = time.monotonic()
        data = bytearray()
        ending = "done"
        try:
            while want is None or len(data) < want:
                now = time.monotonic()
                ending = _out_of_time(now, last_move, limit, ceiling) or ending
                if ending != "done":
                    break
                self.sock.settimeout(min(limit - (now - last_move), ceiling - now))
                try:
                    piece = self.sock.recv(1 << 16 if want is None
                                           else min(want - len(data), 1 << 16))
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    ending = "reset"
                    break
                if not piece:
                    ending = "closed"
                    break
                data += piece
                last_move = time.monotonic()
        finally:
            self.sock.settimeout(self.stall)
        self._ended(ending, len(data), started, last_move)
        return bytes(data), ending

    def recv_exactly(self, n: int, stall: float = None) -> bytes:
        """Read until n bytes came, the server closed, or the wait stalled (no
        byte for `stall` s) or reached its ceiling; returns what arrived
        (possibly fewer than n bytes)."""
        return self._receive(n, stall)[0]

    def read_until_eof(self, stall: float = None) -> tuple:
        """(bytes, saw_eof): read until the server closes (or resets), or the
        wait stalls or reaches its ceiling."""
        data, ending = self._receive(None, stall)
        return data, ending in ("closed", "reset")

    def nothing_arrives_within(self, seconds: float) -> bool:
        """True if no byte arrives in `seconds` (used to show that a server
        does NOT answer, e.g. the iterative server busy with another client)."""
        self.sock.settimeout(seconds)
        try:
            self.sock.recv(1, socket.MSG_PEEK)
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(self.stall)
        return False  # a byte, or end of file, arrived

    def exchange(self, data: bytes, chunk: int = 1 << 16, pause: float = 0.0) -> bytes:
        """Send data and read the reply at the same time (so that neither side
        blocks on a full socket buffer), `chunk` bytes per send, waiting
        `pause` seconds between sends.  Returns the bytes received once
        len(data) arrived, the server closed, or the wait stalled (nothing
        sent or received for the stall limit) or reached its ceiling."""
        remember_sent(data)
        want = len(data)
        limit, ceiling = self._clock()
        started = last_move = time.monotonic()
        received = bytearray()
        sent = 0
        ending = "done"
        self.sock.setblocking(False)
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        next_send = 0.0
        try:
            while len(received) < want and ending == "done":
                now = time.monotonic()
                ending = _out_of_time(now, last_move, limit, ceiling) or ending
                if ending != "done":
                    break
                events = selectors.EVENT_READ
                if sent < len(data) and now >= next_send:
                    events |= selectors.EVENT_WRITE
                sel.modify(self.sock, events)
                wait = min(limit - (now - last_move), ceiling - now)
                if sent < len(data) and now < next_send:
                    wait = min(wait, next_send - now)
                for _key, mask in sel.select(timeout=wait):
                    if mask & selectors.EVENT_READ:
                        try:
                            piece = self.sock.recv(1 << 16)
                        except BlockingIOError:
                            piece = None
                        except ConnectionResetError:
                            ending = "reset"
                            break
                        if piece == b"":
                            ending = "closed"
                            break
                        if piece:
                            received += piece
                            last_move = time.monotonic()
                    if mask & selectors.EVENT_WRITE:
                        try:
                            sent += self.sock.send(data[sent:sent + chunk])
                        except BlockingIOError:
                            continue
                        except (BrokenPipeError, ConnectionResetError):
                            ending = "reset"
                            break
                        last_move = time.monotonic()
                        next_send = last_move + pause if pause else 0.0
        finally:
            sel.close()
            self.sock.setblocking(True)
            self.sock.settimeout(self.stall)
        self._ended(ending, len(received), started, last_move)
        return bytes(received)

    def reset(self) -> None:
        """Close with an RST instead of a FIN (SO_LINGER with a zero timeout)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self) -> None:
        if self.sock.fileno() >= 0:
            self.sock.close()


def connection_refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=scaled(2)).close()
    except OSError as exc:
        return exc.errno == errno.ECONNREFUSED
    return False


__all__ = ["free_port", "listening_ports", "is_listening", "start_server",
           "start_on_free_port", "said_port_in_use", "Client", "Waited", "connection_refused",
           "connection_state",
           "ServerDidNotStart"]
