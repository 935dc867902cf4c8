"""Starting student programs, looking at their process trees, ending them.

Every program runs in its own session (its own process group), with stdout
and stderr in a log file.  The grader is a child subreaper
(PR_SET_CHILD_SUBREAPER), so a grandchild whose parent died is re-parented to
the grader rather than to init: every process a student program creates stays
a descendant of the grader, and end_all() can find and end it.
"""

import ctypes
import os
import resource
import signal
import subprocess
import time
from dataclasses import dataclass
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

    def wait_exit(self, timeout: float):
        """Wait up to `timeout` (scaled) seconds for the program to exit;
        returns its return code, or None if it is still running."""
        try:
            return self.popen.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            return None

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


def _apply_limits(limits):
    """A preexec_fn that sets resource limits (resource.RLIMIT_* -> value) in the child."""
    if not limits:
        return None

    def apply():
        for which, value in limits.items():
            resource.setrlimit(which, (value, value))

    return apply


def start(name: str, argv: list, *, cwd: Path, log_dir: Path, stdin=subprocess.DEVNULL,
          env=None, limits=None) -> Program:
    """Start argv in its own session, stdout and stderr to log_dir/NAME.log.

    limits: {resource.RLIMIT_NOFILE: 32, ...} applied to the program only."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log:
        popen = subprocess.Popen([str(a) for a in argv], cwd=cwd, stdin=stdin, stdout=log,
                                 stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                 preexec_fn=_apply_limits(limits))
    program = Program(name, list(argv), popen, log_path)
    started_in_this_test.append(program)
    return program


@dataclass
class Finished:
    """What a program that ran to completion (or was stopped) did."""
    returncode: int  # None if it was killed at the deadline
    stdout: bytes
    stderr: bytes
    timed_out: bool
    seconds: float


def run(name: str, argv: list, *, cwd: Path, input: bytes = b"", timeout: float = 10,
        env=None, limits=None) -> Finished:
    """Run argv to completion in its own session, feeding it `input` on stdin.
    At the (scaled) deadline it and its process group are killed and
    timed_out is set -- the caller never hangs."""
    started = time.monotonic()
    popen = subprocess.Popen([str(a) for a in argv], cwd=cwd, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                             start_new_session=True, preexec_fn=_apply_limits(limits))
    placeholder = Program(name, list(argv), popen, Path("/dev/null"))
    started_in_this_test.append(placeholder)
    try:
        out, err = popen.communicate(input, timeout=scaled(timeout))
        timed_out = False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = popen.communicate()
        timed_out = True
    return Finished(None if timed_out else popen.returncode, out, err, timed_out,
                    time.monotonic() - started)


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

