"""Loopback networking: free ports, starting a server and waiting until it
listens (for the graded tests, the bench and the demo), Python clients."""

import errno
import selectors
import socket
import struct
import time

import psutil
from grader.i18n import _

from . import diagnose, procs, timeline
from .timing import scaled, wait_until

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


def tcp_sockets(pid: int):
    """The TCP sockets process pid holds, as psutil connections (none once
    it has exited)."""
    try:
        return psutil.Process(pid).connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return []


def listening_sockets(pid: int):
    """The listening TCP sockets process pid holds."""
    return [c for c in tcp_sockets(pid) if c.status == psutil.CONN_LISTEN]


def is_listening(pid: int, port: int, descendants: bool = False) -> bool:
    """True if process pid (or, with descendants, any process under it)
    listens on port."""
    pids = [pid]
    if descendants:
        try:
            pids += [p.pid for p in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            pass
    return any(c.laddr and c.laddr.port == port for p in pids for c in listening_sockets(p))


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
    return sorted({c.laddr.port for c in listening_sockets(program.pid)
                   if c.laddr and c.laddr.port != port})


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
                                 listening=lambda p: listening_sockets(p.pid))
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


class Client:
    """One TCP connection to the server under test, with a deadline on every
    operation."""

    def __init__(self, port: int, timeout: float = 10):
        self.timeout = scaled(timeout)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=self.timeout)
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

    def recv_exactly(self, n: int, timeout: float = None) -> bytes:
        """Read until n bytes came, the server closed, or the deadline passed;
        returns what arrived (possibly fewer than n bytes)."""
        deadline = time.monotonic() + (scaled(timeout) if timeout else self.timeout)
        chunks, got = [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(min(n - got, 1 << 16))
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        self.sock.settimeout(self.timeout)
        return b"".join(chunks)

    def nothing_arrives_within(self, seconds: float) -> bool:
        """True if no byte arrives in `seconds` (used to show that a server
        does NOT answer, e.g. the iterative server busy with another client)."""
        self.sock.settimeout(seconds)
        try:
            self.sock.recv(1, socket.MSG_PEEK)
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(self.timeout)
        return False  # a byte, or end of file, arrived

    def exchange(self, data: bytes, chunk: int = 1 << 16, pause: float = 0.0) -> bytes:
        """Send data and read the reply at the same time (so that neither side
        blocks on a full socket buffer), `chunk` bytes per send, waiting
        `pause` seconds between sends.  Returns the bytes received once
        len(data) arrived, the server closed, or the deadline passed."""
        remember_sent(data)
        want = len(data)
        deadline = time.monotonic() + self.timeout
        received = bytearray()
        sent = 0
        self.sock.setblocking(False)
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        next_send = 0.0
        try:
            while len(received) < want:
                now = time.monotonic()
                if now >= deadline:
                    break
                events = selectors.EVENT_READ
                if sent < len(data) and now >= next_send:
                    events |= selectors.EVENT_WRITE
                sel.modify(self.sock, events)
                wait = deadline - now
                if sent < len(data) and now < next_send:
                    wait = min(wait, next_send - now)
                for _key, mask in sel.select(timeout=wait):
                    if mask & selectors.EVENT_READ:
                        try:
                            piece = self.sock.recv(1 << 16)
                        except ConnectionResetError:
                            return bytes(received)
                        if not piece:
                            return bytes(received)
                        received += piece
                    if mask & selectors.EVENT_WRITE:
                        try:
                            sent += self.sock.send(data[sent:sent + chunk])
                        except (BrokenPipeError, ConnectionResetError):
                            return bytes(received)
                        next_send = time.monotonic() + pause if pause else 0.0
        finally:
            sel.close()
            self.sock.setblocking(True)
            self.sock.settimeout(self.timeout)
        return bytes(received)

    def read_until_eof(self, timeout: float = None) -> tuple:
        """(bytes, saw_eof): read until the server closes or the deadline."""
        deadline = time.monotonic() + (scaled(timeout) if timeout else self.timeout)
        data = bytearray()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return bytes(data), False
            self.sock.settimeout(left)
            try:
                piece = self.sock.recv(1 << 16)
            except socket.timeout:
                return bytes(data), False
            except ConnectionResetError:
                return bytes(data), True
            if not piece:
                return bytes(data), True
            data += piece

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


__all__ = ["free_port", "tcp_sockets", "listening_sockets", "is_listening", "start_server",
           "start_on_free_port", "said_port_in_use", "Client", "connection_refused",
           "ServerDidNotStart"]
