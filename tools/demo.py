"""`make demo`: watch lab04's server fork a child per client and reap it.

Starts lab04_sigchld/server on a free port of 127.0.0.1 in a session of its
own, connects three clients that send lines at staggered moments, and prints
one timeline, side by side: on the left what happens (what each client sends
and gets back, what the server logs), on the right the server's process tree
each time it changes -- children appear, exit, are zombies for an instant,
and are reaped.  Halfway through, the demo pauses the server (SIGSTOP) while
a client leaves, so that its child stays a zombie long enough to be seen;
the server's SIGCHLD handler reaps it as soon as it runs again.

Everything the demo starts ends when it finishes, fails or is interrupted
(Ctrl-C): the server is started and ended through the kit's process layer
(grader/harness/procs.py and net.py), uncontained, and its log goes to a
temporary folder that the demo removes.  It builds nothing: run `make`
first (`make demo` does).

    make demo
    python3 -m tools.demo [--server PATH] [--lang zh|en]     (the same, from the kit's folder)

It narrates in English or Chinese: --lang, else the locale (`make demo
LANG=zh_CN.UTF-8`), through the grader's message catalogue (grader/i18n.py).
"""

import argparse
import os
import selectors
import signal
import socket
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file: tools/ is no package then
    print("demo.py: run tools/python -m tools.demo from the kit's folder, "
          "not this file", file=sys.stderr)
    sys.exit(2)

import psutil  # noqa: E402

from grader import i18n  # noqa: E402  (the grader's catalogue holds the demo's messages too)
from grader.harness import net, procs  # noqa: E402  (the kit's one process layer)
from grader.i18n import _  # noqa: E402

KIT_ROOT = Path(__file__).resolve().parent.parent
# The student's lab04 server, or in a handout the reference build that ships
# beside it (server-ref), so that the demo works before lab04 is written.
YOUR_SERVER = KIT_ROOT / "lab04_sigchld" / "server"
REFERENCE_SERVER = KIT_ROOT / "lab04_sigchld" / "server-ref"
DEFAULT_SERVER = REFERENCE_SERVER if REFERENCE_SERVER.is_file() else YOUR_SERVER
# What not_implemented() exits with (lab01_wrap/todo.h).
NOT_IMPLEMENTED_STATUS = 70

# (seconds from the start, action, client number, bytes to send)
SCRIPT = [
    (0.3, "connect", 1, None),
    (0.8, "send", 1, b"hello from client 1\n"),
    (1.4, "connect", 2, None),
    (1.9, "send", 2, b"no newline needed"),
    (2.5, "connect", 3, None),
    (3.0, "send", 3, "café, Grüße: bytes >= 0x80\n".encode()),
    (3.5, "send", 1, b"see you\n"),
    (4.0, "close", 1, None),
    (5.0, "pause", None, None),
    (5.4, "close", 2, None),
    (6.8, "resume", None, None),
    (7.6, "close", 3, None),
    (8.6, "end", None, None),
]

STATE_LETTERS = {"running": "R", "sleeping": "S", "disk-sleep": "D", "stopped": "T",
                 "tracing-stop": "t", "zombie": "Z", "dead": "X", "idle": "I"}

EVENT_WIDTH = 48


class DemoError(Exception):
    pass


def columns(text: str) -> int:
    """How many terminal columns text takes: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - columns(text))


def clip(text: str, width: int) -> str:
    while columns(text) > width:
        text = text[:-1]
    return text


def printable(data: bytes, limit: int = 34) -> str:
    text = data.decode("utf-8", errors="replace").replace("\n", "\\n")
    return '"' + (text if len(text) <= limit else text[:limit - 3] + "...") + '"'


class Timeline:
    """Prints `time  event  process tree`, the tree only when it changed."""

    def __init__(self):
        self.started = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.started

    def line(self, event: str = "", tree: str = "") -> None:
        print(f"{self.now():5.2f}  {pad(event, EVENT_WIDTH)} {tree}".rstrip(), flush=True)


class Demo:
    def __init__(self, server_path: Path):
        self.server_path = server_path
        self.timeline = Timeline()
        self.selector = selectors.DefaultSelector()
        self.server = None  # a procs.Program
        self.port = None
        self.scratch = None  # the temporary folder of the server's log
        self.log = None  # the server's log, open for reading
        self.clients = {}  # client number -> socket
        self.owner = {}  # child pid -> client number (the client it was forked for)
        self.waiting_for_child = []  # clients connected, child not seen yet
        self.known = {}  # child pid -> last state letter
        self.last_tree = None
        self.log_buffer = b""
        self.forked = 0
        self.reaped = 0

    # ------------------------------------------------------------ server

    def start_server(self) -> None:
        self.scratch = tempfile.TemporaryDirectory(prefix="forklab-demo-")
        try:
            self.server = net.start_on_free_port(
                "server", lambda port: [self.server_path, str(port)],
                log_dir=Path(self.scratch.name), timeout=5, contained=False)
        except OSError as exc:  # executable, but not a program (ENOEXEC) or the like
            raise DemoError(_("cannot run {path}: {reason}").format(
                path=self.server_path, reason=exc.strerror or exc)) from exc
        self.port = self.server.port
        self.log = open(self.server.log_path, "rb")
        if not self.server.running():
            log = self.read_log().decode(errors="replace").strip()
            if self.server.returncode == NOT_IMPLEMENTED_STATUS:
                raise DemoError(_("your lab04 is not finished yet ({log}): `make demo` without "
                                  "SERVER= runs the reference server")
                                .format(log=log))
            raise DemoError(_("the server exited with status {status} before it listened: "
                              "{log}").format(status=self.server.returncode, log=log))
        if not net.is_listening(self.server.pid, self.port):
            raise DemoError(_("the server did not listen on port {port} within {seconds} s")
                            .format(port=self.port, seconds=5))

    def read_log(self) -> bytes:
        """What the server has logged since the last call."""
        return self.log.read() or b""

    def stop_server(self) -> None:
        """End the server and its children (one process group), however we got here:
        also when the server itself has exited, its children may still serve."""
        if self.server is not None:
            procs.end_group(self.server.popen, grace=2)
        if self.log is not None:
            self.log.close()
        if self.scratch is not None:
            self.scratch.cleanup()

    # ------------------------------------------------------------- trees

    def tree(self) -> str:
        """'server 4711 S | 4712 S c1  4713 Z c2' (cN: the child of client N)."""
        try:
            server = psutil.Process(self.server.pid)
            server_state = STATE_LETTERS.get(server.status(), "?")
            children = server.children()
        except psutil.NoSuchProcess:
            return _("server gone")
        states = {}
        for child in children:
            try:
                states[child.pid] = STATE_LETTERS.get(child.status(), "?")
            except psutil.NoSuchProcess:
                pass
        self.note_children(states)
        shown = "  ".join(f"{pid} {state} c{self.owner.get(pid, '?')}"
                          for pid, state in sorted(states.items())) or _("no child")
        return f"server {self.server.pid} {server_state} | {shown}"

    def note_children(self, states: dict) -> None:
        """Report children that appeared, became zombies, or were reaped."""
        for pid, state in sorted(states.items()):
            if pid not in self.known:
                self.forked += 1
                if self.waiting_for_child:
                    self.owner[pid] = self.waiting_for_child.pop(0)
                self.event(_("server forks child {pid} for client {client}").format(
                    pid=pid, client=self.owner.get(pid, "?")))
            if state == "Z" and self.known.get(pid) != "Z":
                self.event(_("child {pid} has exited: a zombie until reaped").format(pid=pid))
            self.known[pid] = state
        for pid in [p for p in self.known if p not in states]:
            del self.known[pid]
            self.reaped += 1
            self.event(_("child {pid} reaped by the server's SIGCHLD handler").format(pid=pid))

    def watch_tree(self) -> None:
        tree = self.tree()
        if tree != self.last_tree:
            self.last_tree = tree
            self.timeline.line("", tree)

    # ------------------------------------------------------------ events

    def event(self, text: str) -> None:
        self.timeline.line(text)

    def act(self, action: str, number, data) -> None:
        if action == "connect":
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.setblocking(False)
            self.clients[number] = sock
            self.waiting_for_child.append(number)
            self.selector.register(sock, selectors.EVENT_READ, number)
            self.event(_("client {n} connects").format(n=number))
        elif action == "send":
            self.clients[number].sendall(data)
            self.event(_("client {n} sends    {data}").format(n=number, data=printable(data)))
        elif action == "close":
            sock = self.clients.pop(number)
            self.selector.unregister(sock)
            sock.close()
            self.event(_("client {n} leaves").format(n=number))
        elif action == "pause":
            os.kill(self.server.pid, signal.SIGSTOP)
            self.event(_("demo pauses the server (SIGSTOP): watch for Z"))
        elif action == "resume":
            os.kill(self.server.pid, signal.SIGCONT)
            self.event(_("demo resumes the server (SIGCONT)"))

    def show_log(self) -> None:
        """The server's new complete log lines, as events."""
        self.log_buffer += self.read_log()
        *lines, self.log_buffer = self.log_buffer.split(b"\n")
        for line in lines:
            self.event(clip(_("server   {line}").format(line=line.decode(errors="replace")),
                            EVENT_WIDTH))

    def on_readable(self, key) -> None:
        sock = self.clients.get(key.data)
        if sock is None:
            return
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return
        if data:
            self.event(_("client {n} receives {data}").format(n=key.data, data=printable(data)))

    def run(self) -> None:
        self.start_server()
        print(_("forklab demo: {server} on 127.0.0.1:{port} (pid {pid})").format(
            server=shown_path(self.server_path), port=self.port, pid=self.server.pid) + "\n")
        legend = _("the server's processes: pid, state (S sleeping,")
        legend_more = _("R running, T stopped, Z zombie), cN: child of client N")
        time_heading, event_heading = _(" time"), _("what happens")
        print(f"{pad(time_heading, 7)}{pad(event_heading, EVENT_WIDTH)} {legend}\n"
              f"{'':<{EVENT_WIDTH + 8}}{legend_more}")
        self.watch_tree()
        for at, action, number, data in SCRIPT:
            while self.timeline.now() < at:
                for key, _mask in self.selector.select(timeout=0.005):
                    self.on_readable(key)
                self.show_log()
                self.watch_tree()
                if not self.server.running():
                    raise DemoError(_("the server exited with status {status}").format(
                        status=self.server.returncode))
            if action == "end":
                break
            self.act(action, number, data)
        self.summary()

    def summary(self) -> None:
        zombies = sum(state == "Z" for state in self.known.values())
        print("\n" + _("{forked} children forked, {reaped} reaped, {zombies} zombie(s) left.")
              .format(forked=self.forked, reaped=self.reaped, zombies=zombies))
        print(_("What to look for: one child per client (the server itself only accepts); each "
                "child\nexits when its client leaves and is reaped at once by the SIGCHLD "
                "handler; while the\nserver was paused, the child of client 2 stayed a zombie "
                "(Z) -- nobody had reaped it."))


def shown_path(path: Path) -> str:
    """path relative to the kit when it is inside it, as given otherwise."""
    try:
        return str(path.relative_to(KIT_ROOT))
    except ValueError:
        return str(path)


def on_terminate(signo, _frame):
    raise SystemExit(128 + signo)


def main(argv=None) -> int:
    requested = i18n.language_from_argv(sys.argv[1:] if argv is None else argv)
    i18n.setup(requested if requested in i18n.LANGUAGES else i18n.language_from_environment())
    parser = argparse.ArgumentParser(description=_("Watch lab04's server fork and reap children."))
    parser.add_argument("--server", type=Path, default=DEFAULT_SERVER,
                        help=_("the server program (default: lab04_sigchld/server-ref in a "
                               "handout, else lab04_sigchld/server)"))
    parser.add_argument("--lang", choices=i18n.LANGUAGES, default=i18n.language(),
                        help=_("the language of the narration (default: from LC_ALL or LANG: "
                               "zh_* is Chinese)"))
    args = parser.parse_args(argv)
    i18n.setup(args.lang)
    server_path = args.server.resolve()
    if not server_path.exists():
        print(_("demo: {path} is missing: build the kit first (`make`, or `make demo`)").format(
            path=server_path), file=sys.stderr)
        return 1
    if not server_path.is_file() or not os.access(server_path, os.X_OK):
        print(_("demo: {path} is not an executable file").format(path=server_path),
              file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, on_terminate)
    signal.signal(signal.SIGHUP, on_terminate)
    demo = None
    try:
        demo = Demo(server_path)
        demo.run()
        return 0
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n" + _("demo: interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python3 -m tools.demo | head`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        if demo is not None:
            for sock in demo.clients.values():
                sock.close()
            demo.stop_server()


if __name__ == "__main__":
    sys.exit(main())
