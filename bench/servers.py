"""servers.py -- the servers under test: which programs they are, and
starting and stopping them through the kit's process layer
(grader/harness/procs.py and net.py), uncontained: the bench times them.

Each server runs in its own session on a free loopback port and is ended as
a process group; the driver is a child subreaper (become_subreaper), so that
a server's child that outlives its parent is still the driver's to kill and
reap (end_strays).
"""

import os
import sys
from pathlib import Path

import psutil

from grader.harness import net, procs

from .model import HERE, LOGS, OVERLOAD_CAP, ServerSpec


def become_subreaper():
    """Make orphaned descendants our children (PR_SET_CHILD_SUBREAPER), so that
    a server's child that outlives its parent is still ours to kill and reap."""
    try:
        procs.become_subreaper()
    except (OSError, AttributeError):
        pass  # not Linux: process groups still catch the servers' children


def log_tail(path, lines=5):
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


class ServerDidNotStart(Exception):
    pass


class RunningServer:
    """A server started in its own session on a free loopback port.
    RunningServer.running_now lists those not stopped yet."""

    running_now = []

    def __init__(self, spec, program):
        self.spec = spec
        self.program = program  # a procs.Program, not contained
        self.port = program.port
        self.pid = program.pid
        self.log_path = program.log_path
        self.stopped = False
        self.left_behind = []  # pids stop() found outside the server's process group
        RunningServer.running_now.append(self)

    @classmethod
    def start(cls, spec):
        """Start spec's server and wait until it listens; ServerDidNotStart if it
        exits or does not listen within 10 s.  A port someone took between
        free_port() and the server's bind() is retried with another."""
        try:
            program = net.start_on_free_port(
                spec.key, lambda port: [*spec.argv, str(port)], log_dir=LOGS, timeout=10,
                contained=False,
                listening=lambda p: net.is_listening(p.pid, p.port, descendants=True))
        except OSError as e:  # not executable, not a program, no such file...
            raise ServerDidNotStart(f"cannot run {spec.argv[0]}: {e.strerror or e}") from e
        server = cls(spec, program)
        listening = net.is_listening(server.pid, server.port, descendants=True)
        if listening and program.running():
            return server
        running = program.running()
        server.stop()
        if running:
            raise ServerDidNotStart(f"not listening on port {server.port} after 10 s")
        if net.said_port_in_use(program):
            raise ServerDidNotStart("no free port found")
        raise ServerDidNotStart(f"exited with status {program.returncode} before it "
                                f"listened: {log_tail(server.log_path) or '(no output)'}")

    def running(self):
        return self.program.running()

    @property
    def returncode(self):
        return self.program.returncode

    def stop(self):
        """SIGTERM to the server's process group, SIGKILL to whatever is left
        of it after 2 s (or at once), then reap it and any orphan.  Orphans
        outside the group survived the SIGKILL: they are noted in left_behind
        (the smoke test requires none) before they are killed too."""
        if self.stopped:
            return
        self.stopped = True
        RunningServer.running_now.remove(self)
        procs.end_group(self.program.popen, grace=2.0, timeout=5.0)
        keep = {server.pid for server in RunningServer.running_now}
        self.left_behind = [p.pid for p in psutil.Process().children()
                            if p.pid not in keep and not in_group(p.pid, self.pid)]
        end_strays()


def in_group(pid, pgid):
    try:
        return os.getpgid(pid) == pgid
    except ProcessLookupError:
        return True  # gone already: nothing left behind



def end_strays():
    """Kill and reap the driver's children that are not running servers: the
    orphans of a stopped server, which came to us as the subreaper (and, after
    Ctrl-C, a loadgen).  A running server's own children are left alone."""
    keep = {server.pid for server in RunningServer.running_now}
    for _round in range(10):  # an orphan's own orphans come to us when it dies
        strays = [p for p in psutil.Process().children() if p.pid not in keep]
        if not strays:
            return
        for proc in strays:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
            try:
                os.waitpid(proc.pid, 0)
            except ChildProcessError:
                pass



def server_specs(args):
    """The servers to compare, in the order they run."""
    bins = Path(args.bin_dir).resolve()

    def program(name):
        """A bench server built here, else the reference build a handout ships."""
        built, shipped = bins / name, HERE / f"{name}-ref"
        return str(built if built.exists() or not shipped.exists() else shipped)

    specs = [
        ServerSpec("lab04", "lab04", "lab04 fork + SIGCHLD (C++)", [args.lab04], "fork",
                   "the kit's reference forking server"),
        ServerSpec("fork_c", "C fork", "bare C fork", [program("fork_server")], "fork",
                   "bench/fork_server.c, dynamically linked"),
        ServerSpec("fork_c_static", "C fork static", "bare C fork, static",
                   [program("fork_server_static")], "fork", "the same, linked with -static"),
        ServerSpec("python_fork", "Python fork", "Python ForkingTCPServer",
                   [sys.executable, str(HERE / "forking_server.py")], "fork",
                   "socketserver.ForkingTCPServer, bench/forking_server.py"),
        ServerSpec("epoll", "epoll", "epoll, no fork (ceiling)", [str(bins / "epoll_server")],
                   "event", "bench/epoll_server.cpp: one process, one thread"),
        ServerSpec("lab02", "lab02 iter", "lab02 iterative", [args.lab02], "iterative",
                   "the kit's iterative server: one client at a time"),
    ]
    if args.server:
        name = Path(args.server).name
        specs.insert(1, ServerSpec("yours", "yours", f"yours: {name}", [args.server], "fork",
                                   f"SERVER={args.server}"))
    return [s for s in specs if not args.only or s.key in args.only]


def overload_specs(args):
    """The servers of the overload case, in the order they run."""
    return [
        ServerSpec("lab06", f"lab06 -n {OVERLOAD_CAP}", f"lab06, at most {OVERLOAD_CAP} children",
                   [args.lab06, "-n", str(OVERLOAD_CAP)], "fork",
                   "the kit's reference server with a cap on its children"),
        ServerSpec("lab04", "lab04 (no cap)", "lab04, no cap", [args.lab04], "fork",
                   "the kit's reference forking server"),
        ServerSpec("python_fork", f"Python max {OVERLOAD_CAP}",
                   f"Python ForkingTCPServer, max_children {OVERLOAD_CAP}",
                   [sys.executable, str(HERE / "forking_server.py"),
                    "--max-children", str(OVERLOAD_CAP)], "fork",
                   f"bench/forking_server.py with max_children = {OVERLOAD_CAP}"),
    ]


def check_binary(spec):
    """Why spec's program cannot run, or "" if it can."""
    program = Path(spec.argv[0])
    if not program.exists():
        return f"{program} does not exist (not built?)"
    if not program.is_file() or not os.access(program, os.X_OK):
        return f"{program} is not an executable file"
    return ""
