"""Driving the student's client: started contained, its stdin and stdout
pipes or a pseudo-terminal the test drives (read_from_terminal), and the
checks of what it printed; the fixtures that start it and the grader's own
uppercase server (upper_server.py) it talks to; the command lines it must
refuse, how idle it must stay, and the hints several of lab05's tests share.
"""

import os
import select
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest

from grader.harness import procs
from grader.harness.expect import expect, fail, show
from grader.harness.timing import CEILING_SECONDS, deadline_passed, scaled
from grader.harness.kit import _N
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

from .upper_server import Behaviour, UpperServer
from .protocol import CLOSED, expect_reply, uppercase

SERVER_CLOSED = CLOSED.encode()

# Seconds a test waits for what a correct client does in milliseconds.
PROMPT = 5

# How long the "stops answering" test watches a client that waits for the
# server, and the share of that time it may be runnable (running, or ready to
# run and waiting for a CPU).  A busy loop is runnable all the time however
# loaded the machine is; a client asleep in poll() or read() almost never.
IDLE_WINDOW = 0.5
IDLE_BUSY_SHARE = 0.2

# The command lines a client must refuse with a usage line and exit status 2.
BAD_ARGUMENTS = [
    ["127.0.0.1", "6666", "extra"],
    ["127.0.0.1", "0"],
    ["127.0.0.1", "65536"],
    ["127.0.0.1", "99999999999999999999"],
    ["127.0.0.1", "80x"],
    ["127.0.0.1", "-1"],
    ["127.0.0.1", "+80"],
    ["127.0.0.1", " 80"],
    ["127.0.0.1", "0x50"],
    ["127.0.0.1", ""],
]

HALF_CLOSE = _N("At end of input, call shutdown(sockfd, SHUT_WR) -- not close() and not exit -- "
                "and keep reading the socket until read() returns 0: the replies to the last "
                "bytes you sent are still on their way.")
READ_EVERYTHING = _N("The server may split a reply anywhere and send it late: never assume one "
                     "read() returns one whole reply. Watch stdin and the socket together "
                     "(poll) and copy whatever arrives on the socket to stdout with Writen.")
BYTES_NOT_STRINGS = _N("Data is bytes, not a C string: use the count read() returned, never "
                       "strlen() or fgets()/fputs(), which stop at '\\0'.")
NO_BUFFERING = _N("Write each reply to stdout as soon as it arrives (Writen on STDOUT_FILENO); "
                  "a reply kept in a stdio buffer reaches the user only at exit.")



ALPHABET = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'-()"


def text(rng, size: int, line_length: int = 0) -> bytes:
    """Random printable text; with line_length, in lines of about that many
    bytes, else without a newline."""
    newlines = round(256 / line_length) if line_length else 0
    table = bytes(ord("\n") if i < newlines else ALPHABET[i % len(ALPHABET)] for i in range(256))
    return rng.randbytes(size).translate(table)


def short_lines(rng, count: int, longest: int = 70) -> bytes:
    return b"".join(text(rng, rng.randint(0, longest)) + b"\n" for _ in range(count))


class RunningClient:
    """The student's client, started like procs.start() starts a program (own
    session, sandbox user and limits, a working folder of its own) with stderr
    in a log file, and its stdin and stdout either pipes the test drives (fed
    and read by threads, so neither side ever blocks the other) or the
    descriptors given (a terminal)."""

    def __init__(self, binary: Path, args, run_dir: Path, *, stdin=None, stdout=None,
                 name: str = "client"):
        self._stdin_w = self._stdout_r = None
        close_in_parent = []
        if stdin is None:
            stdin, self._stdin_w = os.pipe()
            close_in_parent.append(stdin)
        if stdout is None:
            self._stdout_r, stdout = os.pipe()
            close_in_parent.append(stdout)
        argv = [str(binary), *map(str, args)]
        try:
            self.program = procs.start(name, argv, log_dir=run_dir, stdin=stdin, stdout=stdout)
        finally:
            for fd in close_in_parent:
                os.close(fd)
        self.popen = self.program.popen
        self._out = bytearray()
        self._out_done = False
        self._cond = threading.Condition()
        self._stdin_lock = threading.Lock()
        self._threads = []
        self._feeder = None
        if self._stdout_r is not None:
            self._start(self._collect)

    def _start(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def _collect(self):
        while True:
            try:
                piece = os.read(self._stdout_r, 1 << 16)
            except OSError:
                piece = b""
            with self._cond:
                if not piece:
                    self._out_done = True
                    self._cond.notify_all()
                    return
                self._out += piece
                self._cond.notify_all()

    def _write_all(self, data: bytes, close: bool):
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._stdin_w, view[:1 << 16]):]
        except OSError:
            pass  # the client has gone (EPIPE) or stdin was closed under us
        if close:
            self._close_stdin_now()

    def _close_stdin_now(self):
        with self._stdin_lock:
            fd, self._stdin_w = self._stdin_w, None
        if fd is not None:
            os.close(fd)

    def feed(self, data: bytes, close: bool = False) -> None:
        """Write data to the client's stdin in the background (then close it)."""
        if not self.wait_fed():
            fail(_("the client stopped reading its stdin: what the test wrote {seconds} s ago "
                   "is still not read; {state}").format(seconds=f"{scaled(PROMPT):.0f}",
                                                        state=self.state()))
        self._feeder = self._start(self._write_all, data, close)

    def wait_fed(self, timeout: float = PROMPT) -> bool:
        if self._feeder is not None:
            self._feeder.join(scaled(timeout))
            if self._feeder.is_alive():
                return False
        return True

    def close_stdin(self) -> None:
        """End of input: close the client's stdin once everything fed is written."""
        if self.wait_fed():
            self._close_stdin_now()

    def output(self) -> bytes:
        with self._cond:
            return bytes(self._out)

    def wait_output(self, size: int, timeout: float, expected: bytes = None) -> bytes:
        """Wait until `size` bytes came on stdout, stdout ended, or (given
        what is expected) the output went wrong.  The wait follows progress:
        it ends when nothing more came for `timeout` s, or at the ceiling
        (both scaled), however steady the output."""
        limit = scaled(timeout)
        ceiling = time.monotonic() + scaled(CEILING_SECONDS)
        checked = 0
        with self._cond:
            seen, last_move = len(self._out), time.monotonic()
            while len(self._out) < size and not self._out_done:
                if expected is not None:
                    if self._out[checked:] != expected[checked:len(self._out)]:
                        break
                    checked = len(self._out)
                now = time.monotonic()
                if len(self._out) != seen:
                    seen, last_move = len(self._out), now
                left = min(last_move + limit, ceiling) - now
                if left <= 0:
                    deadline_passed(_("the client's output stopped coming")
                                    if now < ceiling else _("the client's output: the ceiling"))
                    break
                self._cond.wait(left)
            return bytes(self._out)

    def stderr(self) -> bytes:
        try:
            return self.program.log_path.read_bytes()
        except OSError:
            return b""

    def wait_exit(self, timeout: float):
        """The client's return code once it has exited and everything it
        wrote to stdout has been collected; None if it still runs.  The wait
        follows progress: it ends when the client printed nothing for
        `timeout` s, or at the ceiling (both scaled)."""
        ceiling = time.monotonic() + scaled(CEILING_SECONDS)
        seen = -1
        code = None
        while code is None and time.monotonic() < ceiling:
            printed = len(self.output())
            if printed == seen:
                break
            seen = printed
            code = self.program.wait_exit(min(timeout, (ceiling - time.monotonic())
                                              / scaled(1)))
        if code is not None and self._stdout_r is not None:
            deadline = time.monotonic() + scaled(PROMPT)
            with self._cond:
                while not self._out_done and time.monotonic() < deadline:
                    self._cond.wait(deadline - time.monotonic())
        return code

    def cpu_seconds(self) -> float:
        proc = self.program.process()
        try:
            times = proc.cpu_times()
        except (AttributeError, psutil.Error):  # gone already
            return 0.0
        return times.user + times.system

    def watch_idle(self, seconds: float):
        """Watch the client for `seconds` (not scaled: what it does meanwhile
        is its own, however busy the machine), or until it exits.  Returns
        (the share of the time it was running or waiting for a CPU, as the
        kernel counts it: procs.activity; seconds watched; whether it exited)."""
        before = procs.activity(self.popen.pid)
        started = time.monotonic()
        try:
            self.popen.wait(timeout=seconds)
            exited = True
        except subprocess.TimeoutExpired:
            exited = False
        after = procs.activity(self.popen.pid)
        if exited or before is None or after is None:
            return 0.0, time.monotonic() - started, True
        return after.since(before).wanted_cpu, time.monotonic() - started, False

    def ended(self) -> str:
        """'exited with status 1', for observed messages (what it said on
        stderr follows in the report, as "client said:")."""
        silent = "" if self.stderr().strip() else _(", saying nothing on stderr")
        return procs.describe_returncode(self.popen.poll()) + silent

    def state(self) -> str:
        return _("the client {ended}").format(ended=self.ended())

    def stop(self):
        """Kill the client, then (its pipes broken, the threads ended) close them."""
        self.program.stop(timeout=2)
        for thread in self._threads:
            thread.join(scaled(2))
        self._close_stdin_now()
        if self._stdout_r is not None:
            os.close(self._stdout_r)
            self._stdout_r = None


@pytest.fixture
def upper_server(rng):
    """Start the grader's uppercase server: upper_server(fragments=True, ...)."""
    started = []

    def start(**behaviour) -> UpperServer:
        server = UpperServer(Behaviour(**behaviour), type(rng)(rng.random()))
        started.append(server)
        return server

    yield start
    problems = []
    for server in started:
        server.stop()
        problems += server.errors
    assert not problems, f"the grader's own server failed (a grader bug): {problems}"


@pytest.fixture
def client(lab_dir, run_dir):
    """Start the client under test: client(port) or client(args=[...])."""
    running = []

    def start(port=None, *, args=None, **kwargs) -> RunningClient:
        argv = args if args is not None else ["127.0.0.1", port]
        c = RunningClient(lab_dir / "client", argv, run_dir, **kwargs)
        running.append(c)
        return c

    yield start
    for c in running:
        c.stop()


def run_client(lab_dir, run_dir, args, data: bytes = b"", timeout: float = PROMPT):
    return procs.run("client", [lab_dir / "client", *map(str, args)], log_dir=run_dir,
                     input=data, timeout=timeout)


def outcome(r) -> str:
    """'exited with status 1 and said on stderr: ...' for a procs.run() result."""
    said = r.stderr.decode(errors="replace").strip()
    return r.describe() + (
        _(" and said on stderr: {output}").format(output=said[:300]) if said
        else _(", saying nothing on stderr"))


def expect_all_replies(c: RunningClient, data: bytes, timeout: float = PROMPT, what="stdout"):
    """The client printed exactly the uppercase of data (stdin stays open)."""
    want = uppercase(data)
    got = c.wait_output(len(want), timeout, want)
    if len(got) < len(want) and got == want[:len(got)]:
        if c.wait_exit(0.2) is None:
            when = _("after {seconds} s the client had printed {got} of the {owed} bytes it was "
                     "sent back, and was still running").format(
                         seconds=f"{scaled(timeout):.0f}", got=len(got), owed=len(want))
        else:
            when = _("the client printed {got} of the {owed} bytes it was sent back, then "
                     "{ended}").format(got=len(got), owed=len(want), ended=c.ended())
        fail("\n".join([
            when,
            "  " + _("sent     ({count} bytes): {data}").format(count=len(data), data=show(data)),
            "  " + _("expected ({count} bytes): {data}").format(count=len(want), data=show(want)),
            "  " + _("received ({count} bytes): {data}").format(count=len(got), data=show(got))]))
    expect_reply(data, got, what=_("what the client printed on {where}").format(where=what))


def within(c: RunningClient, seconds: float) -> str:
    """'within 5 s' -- or, for a client that exited, 'before it exited'."""
    if c.popen.poll() is not None:
        return _("before it exited")
    return _("within {seconds} s").format(seconds=f"{scaled(seconds):.0f}")


def expect_exit_0_at_end_of_input(c: RunningClient):
    """Every reply has arrived: end the input, expect status 0 soon."""
    c.close_stdin()
    code = c.wait_exit(PROMPT)
    if code is None:
        fail(_("{observed} {advice}").format(
            observed=_("every reply arrived, but {seconds} s after its input ended the client "
                       "was still running (a client that does not half-close waits for the "
                       "server, and the server for the client).").format(
                           seconds=f"{scaled(PROMPT):.0f}"),
            advice=_(HALF_CLOSE)))
    expect(code == 0, _("every reply arrived; when its input ended, {state} (expected status 0)"
                        ).format(state=c.state()))


def read_from_terminal(master: int, size: int, timeout: float) -> bytes:
    got = bytearray()
    deadline = time.monotonic() + scaled(timeout)
    while len(got) < size:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([master], [], [], left)[0]:
            break
        try:
            piece = os.read(master, 4096)
        except OSError:  # EIO: the client closed the terminal (it exited)
            break
        if not piece:
            break
        got += piece
    return bytes(got)
