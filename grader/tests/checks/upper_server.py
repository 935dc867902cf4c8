"""The grader's own uppercase server, for grading lab05's client.

A client is graded against a server it did not write: this one runs in a
thread of the grader, on a free loopback port, and can misbehave on purpose
in the ways a real server (or network) does -- answer in small pieces and
late, answer only once the client has half-closed, close in mid-session,
read without ever answering, reset the connection.

It is one select loop over non-blocking sockets, so it reads and writes at
the same time: it never stops reading because the client is slow to read its
replies, and a client that writes everything before it reads passes as long
as it reads at all.  What it saw (bytes received, half-closes) is counted for
the tests to wait on.

    server = UpperServer(Behaviour(fragments=True), rng)
    ...client connects to server.port...
    server.stop()       # always: closes every socket, ends the thread
"""

import random
import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass

from grader.harness.timing import scaled


@dataclass(frozen=True)
class Behaviour:
    """How the server treats every connection (all off: a plain uppercase server
    that closes once the client has half-closed and every reply has gone)."""
    fragments: bool = False       # send replies in pieces of 1-7 bytes, up to 2 ms apart
    hold_until_eof: bool = False  # answer only after the client has half-closed
    close_after: int = None       # answer the first N bytes, then close (FIN)
    silent: bool = False          # read everything, never answer (until reset_all())
    reset_after: int = None       # reset (RST) as soon as N bytes have arrived


FRAGMENT_BYTES = (1, 7)
FRAGMENT_PAUSE = 0.002


class _Connection:
    def __init__(self, sock):
        self.sock = sock
        self.pending = bytearray()  # replies not sent yet
        self.held = bytearray()     # replies kept back until the client's EOF
        self.received = 0
        self.answered = 0           # bytes of input whose reply is queued
        self.eof = False            # the client half-closed (or closed)
        self.next_send = 0.0        # fragments: when the next piece may go
        self.events = 0             # what the selector watches for


class UpperServer:
    def __init__(self, behaviour: Behaviour = Behaviour(), rng: random.Random = None):
        self.behaviour = behaviour
        self.rng = rng or random.Random(0)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._lock = threading.Lock()
        self._commands = []
        self._stopping = False
        self._sel = selectors.DefaultSelector()
        self._conns = {}
        # What the tests wait on (written by the server thread only).
        self.accepted = 0
        self.received = 0
        self.half_closes = 0
        self.closed_by_server = 0
        self.resets = 0
        self.errors = []
        self._thread = threading.Thread(target=self._run, name=f"upper-server-{self.port}",
                                        daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ for tests

    def reset_all(self) -> None:
        """Reset (RST) every open connection, as a server that crashed would."""
        self._post("reset")

    def stop(self) -> None:
        """Close every socket and end the server thread."""
        self._post("stop")
        self._thread.join(timeout=scaled(5))
        for sock in (self.listener, self._wake_r, self._wake_w):
            sock.close()
        for conn in list(self._conns.values()):
            conn.sock.close()
        self._conns.clear()
        self._sel.close()

    def _post(self, command: str) -> None:
        with self._lock:
            self._commands.append(command)
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    # ---------------------------------------------------------- the loop

    def _run(self) -> None:
        self._sel.register(self.listener, selectors.EVENT_READ, "listener")
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stopping:
                for key, mask in self._sel.select(timeout=self._next_timer()):
                    if key.data == "listener":
                        self._accept()
                    elif key.data == "wake":
                        self._run_commands()
                    else:
                        self._serve(key.data, mask)
                for conn in list(self._conns.values()):
                    self._update(conn)
        except Exception as exc:  # a grader bug: make it visible, never hang
            self.errors.append(repr(exc))

    def _next_timer(self):
        due = [c.next_send for c in self._conns.values() if c.pending and self.behaviour.fragments]
        if not due:
            return None
        return max(0.0, min(due) - time.monotonic())

    def _run_commands(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        with self._lock:
            commands, self._commands = self._commands, []
        for command in commands:
            if command == "stop":
                self._stopping = True
            elif command == "reset":
                for conn in list(self._conns.values()):
                    self._drop(conn, reset=True)

    def _accept(self) -> None:
        try:
            sock, _addr = self.listener.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Connection(sock)
        self._conns[sock.fileno()] = conn
        self._sel.register(sock, selectors.EVENT_READ, conn)
        conn.events = selectors.EVENT_READ
        self.accepted += 1

    def _serve(self, conn, mask) -> None:
        if conn.sock is None:
            return  # dropped earlier in this round (a reset)
        if mask & selectors.EVENT_READ and not conn.eof:
            try:
                data = conn.sock.recv(1 << 16)
            except BlockingIOError:
                data = None
            except OSError:
                self._drop(conn)
                return
            if data == b"":
                conn.eof = True
                self.half_closes += 1
                conn.pending += conn.held
                conn.held.clear()
            elif data:
                self._take(conn, data)
                if conn.sock is None:
                    return
        if mask & selectors.EVENT_WRITE and conn.pending:
            self._send(conn)

    def _take(self, conn, data: bytes) -> None:
        """Input arrived: queue (or hold) its reply as the behaviour says."""
        b = self.behaviour
        conn.received += len(data)
        self.received += len(data)
        if b.reset_after is not None and conn.received >= b.reset_after:
            self._drop(conn, reset=True)
            return
        if b.silent:
            return
        if b.close_after is not None:
            data = data[:max(0, b.close_after - conn.answered)]
        conn.answered += len(data)
        (conn.held if b.hold_until_eof else conn.pending).extend(data.upper())

    def _send(self, conn) -> None:
        size = len(conn.pending)
        if self.behaviour.fragments:
            if time.monotonic() < conn.next_send:
                return
            size = min(size, self.rng.randint(*FRAGMENT_BYTES))
        try:
            sent = conn.sock.send(conn.pending[:min(size, 1 << 16)])
        except BlockingIOError:
            return
        except OSError:
            self._drop(conn)
            return
        del conn.pending[:sent]
        if self.behaviour.fragments:
            conn.next_send = time.monotonic() + self.rng.uniform(0, FRAGMENT_PAUSE)

    def _update(self, conn) -> None:
        """Close a finished connection; otherwise watch it for what it needs."""
        if conn.sock is None:
            return
        b = self.behaviour
        all_answered = b.close_after is not None and conn.answered >= b.close_after
        if not conn.pending and not conn.held and (conn.eof or all_answered) and not b.silent:
            self.closed_by_server += 1
            self._drop(conn)
            return
        # After the client's EOF the socket would read as ready forever: stop
        # watching for input then.  Fragments wait for their timer.
        events = 0 if conn.eof else selectors.EVENT_READ
        if conn.pending and (not b.fragments or time.monotonic() >= conn.next_send):
            events |= selectors.EVENT_WRITE
        if events == conn.events:
            return
        if conn.events == 0:
            self._sel.register(conn.sock, events, conn)
        elif events == 0:
            self._sel.unregister(conn.sock)
        else:
            self._sel.modify(conn.sock, events, conn)
        conn.events = events

    def _drop(self, conn, reset: bool = False) -> None:
        if conn.sock is None:
            return
        if reset:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.resets += 1
        if conn.events:
            self._sel.unregister(conn.sock)
            conn.events = 0
        self._conns.pop(conn.sock.fileno(), None)
        conn.sock.close()
        conn.sock = None
