"""Starting student programs, looking at their process trees, ending them.

Every program runs in its own session (its own process group), with stdout
and stderr in a log file.  The grader is a child subreaper
(PR_SET_CHILD_SUBREAPER), so a grandchild whose parent died is re-parented to
the grader rather than to init: every process a student program creates stays
a descendant of the grader, and end_all() can find and end it.
"""

import ctypes
import os
import signal
import subprocess
from pathlib import Path

import psutil

from .timing import scaled

PR_SET_CHILD_SUBREAPER = 36

# Programs started during the current test, for the failure report.
started_in_this_test = []


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


class Program:
    """A student program the grader started."""

    def __init__(self, name: str, argv: list, popen: subprocess.Popen, log_path: Path):
        self.name = name
        self.argv = argv
        self.popen = popen
        self.log_path = log_path
        self.pid = popen.pid
        self.port = None

    def running(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self):
        return self.popen.poll()

    def describe_exit(self) -> str:
        code = self.popen.poll()
        if code is None:
            return "is still running"
        if code < 0:
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with status {code}"

    def output(self) -> str:
        try:
            return self.log_path.read_bytes().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 12) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def process(self):
        try:
            return psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return None

    def children(self):
        """Direct children, zombies included."""
        proc = self.process()
        if proc is None:
            return []
        try:
            return proc.children()
        except psutil.NoSuchProcess:
            return []

    def live_children(self):
        return [c for c in self.children() if status_of(c) not in (psutil.STATUS_ZOMBIE, None)]

    def zombie_children(self):
        return [c for c in self.children() if status_of(c) == psutil.STATUS_ZOMBIE]

    def num_fds(self):
        proc = self.process()
        try:
            return proc.num_fds() if proc else None
        except psutil.NoSuchProcess:
            return None

    def signal(self, signo) -> None:
        if self.running():
            os.kill(self.pid, signo)

    def stop(self, timeout: float = 5) -> None:
        """End the program and everything in its process group."""
        if self.running():
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.popen.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            pass


def status_of(proc):
    try:
        return proc.status()
    except psutil.NoSuchProcess:
        return None


def start(name: str, argv: list, *, cwd: Path, log_dir: Path, stdin=subprocess.DEVNULL,
          env=None, preexec_fn=None) -> Program:
    """Start argv in its own session, output to log_dir/NAME.log."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        popen = subprocess.Popen([str(a) for a in argv], cwd=cwd, stdin=stdin, stdout=log,
                                 stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                 preexec_fn=preexec_fn)
    program = Program(name, list(argv), popen, log_path)
    started_in_this_test.append(program)
    return program


def descendants():
    try:
        return psutil.Process().children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def end_all(timeout: float = 10) -> list:
    """SIGKILL every descendant of the grader and reap them.  Returns the
    pids that were still there (an empty list when all went well)."""
    for program in started_in_this_test:
        program.stop(timeout=0.5)
    for _ in range(3):  # a process may fork while we kill its parent
        victims = descendants()
        if not victims:
            break
        for proc in victims:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(victims, timeout=scaled(timeout))
    reap_orphans()
    started_in_this_test.clear()
    return [p.pid for p in descendants()]


def reap_orphans() -> None:
    """Collect the exit status of re-parented grandchildren (we are their
    subreaper), so that none stays a zombie of the grader."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return

