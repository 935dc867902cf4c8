"""Starting programs, looking at their process trees, ending them: the kit's
one process layer (the grader, bench/ and tools/demo.py use it).

Every program runs in its own session (its own process group), with stdout
and stderr in a log file.  The grader is a child subreaper
(PR_SET_CHILD_SUBREAPER), so a grandchild whose parent died is re-parented to
the grader rather than to init: every process a student program creates stays
a descendant of the grader, and end_all() can find and end it.

A student program runs contained (harness/sandbox.py), and every deadline of
the grader is scaled (FORKLAB_TIMEOUT_SCALE).  A program of the kit's own
that is measured or shown -- the bench's servers, the demo's -- is started
with start(..., contained=False): in its own session still, but without the
sandbox, its limits or the crash reporter, and with its deadlines in seconds
as given.
"""

import ctypes
import os
import resource
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from grader.i18n import _

from . import profile, sandbox
from .timing import deadline_passed, scaled
# Reading the process tree (process_tree.py), its names importable from here.
from .process_tree import (  # noqa: F401
    HAVE_CHILDREN_FILES, Activity, ActivityShare, activity, child_pids, descendant_pids,
    is_live, processes, state_letter, status_of, waiting_in)

PR_SET_CHILD_SUBREAPER = 36

# Programs started during the current test, for the failure report.
started_in_this_test = []


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


class Program:
    """A program started in its own session: a student program the grader
    started (contained), or one of the kit's own (not contained)."""

    def __init__(self, name: str, argv: list, popen: subprocess.Popen, log_path: Path,
                 contained: bool = True):
        self.name = name
        self.argv = argv
        self.popen = popen
        self.log_path = log_path
        self.pid = popen.pid
        self.port = None
        self.started = time.monotonic()
        self.contained = contained
        # The signals the test sent it (send_signal): a program asked to
        # stop that exits has done what it was asked (harness/diagnose.py).
        self.signals_sent = []

    def send_signal(self, signo: int, group: bool = False) -> None:
        """Send signo to the program (its own process only; with group, to its
        whole process group, as a terminal's Ctrl-C does), and remember it."""
        self.signals_sent.append(signo)
        if group:
            os.killpg(self.pid, signo)
        else:
            os.kill(self.pid, signo)

    def seconds(self, timeout: float) -> float:
        """A deadline for this program: scaled for a contained one, as given
        for one of the kit's (the bench times them)."""
        return scaled(timeout) if self.contained else timeout

    def running(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self):
        return self.popen.poll()

    def describe_exit(self) -> str:
        return describe_returncode(self.popen.poll())

    def output(self) -> str:
        try:
            return self.log_path.read_bytes().decode(errors="replace")
        except OSError:
            return ""

    def output_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def tail(self, lines: int = 12) -> str:
        return "\n".join(read_tail(self.log_path).decode(errors="replace").splitlines()[-lines:])

    def process(self):
        try:
            return psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return None

    def children(self):
        """Direct children, zombies included (psutil.Process objects)."""
        return processes(child_pids(self.pid))

    def child_states(self) -> dict:
        """{pid: state letter ('S', 'R', 'Z'...)} of the direct children,
        zombies included."""
        states = {}
        for pid in child_pids(self.pid):
            state = state_letter(pid)
            if state:
                states[pid] = state
        return states

    def live_children(self):
        return processes(pid for pid, state in self.child_states().items()
                         if state not in ("Z", "X"))

    def zombie_children(self):
        return processes(pid for pid, state in self.child_states().items() if state == "Z")

    def num_fds(self):
        proc = self.process()
        try:
            return proc.num_fds() if proc else None
        except psutil.NoSuchProcess:
            return None

    def wait_exit(self, timeout: float):
        """Wait up to `timeout` (scaled) seconds for the program to exit;
        returns its return code, or None if it is still running."""
        try:
            return self.popen.wait(timeout=self.seconds(timeout))
        except subprocess.TimeoutExpired:
            deadline_passed(_("{name} did not exit within {seconds} s").format(
                name=self.name, seconds=f"{self.seconds(timeout):g}"))
            return None

    def stop(self, timeout: float = 5) -> None:
        """End the program and everything in its process group (SIGKILL)
        while it runs; then reap it."""
        if self.running():
            signal_group(self.pid, signal.SIGKILL)
        try:
            self.popen.wait(timeout=self.seconds(timeout))
        except subprocess.TimeoutExpired:
            pass


# ------------------------------------------------ ending and describing

def signal_group(pgid: int, signo: int) -> bool:
    """Send signo to process group pgid; False if the group is gone (or not ours)."""
    try:
        os.killpg(pgid, signo)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def end_group(popen, *, grace: float = 0, timeout: float = 5) -> bool:
    """End the process group that popen's program leads (it was started in a
    session of its own), and reap the leader.  With grace, the group gets
    SIGCONT and SIGTERM first (a stopped process acts on SIGTERM only once
    continued) and up to `grace` seconds to exit; then SIGKILL, also when the
    leader has exited already: its children may still run in the group.
    Seconds as given (the grader scales its own).  True once the leader is
    reaped, False if it was still there after `timeout` seconds."""
    if grace and popen.poll() is None:
        signal_group(popen.pid, signal.SIGCONT)
        signal_group(popen.pid, signal.SIGTERM)
        try:
            popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    signal_group(popen.pid, signal.SIGKILL)
    try:
        popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


def describe_returncode(code) -> str:
    """'exited with status 1', 'was killed by SIGSEGV', with the reason when
    the signal comes from one of the sandbox's limits."""
    if code is None:
        return _("is still running")
    if code >= 0:
        return _("exited with status {status}").format(status=code)
    name = signal.Signals(-code).name
    if name == "SIGXCPU":
        return _("was killed by {signal}: it used more than {seconds} s of CPU time (a busy "
                 "loop?)").format(signal=name, seconds=sandbox.LIMITS[resource.RLIMIT_CPU])
    if name == "SIGXFSZ":
        return _("was killed by {signal}: it wrote more than {mib} MiB to a file or to its "
                 "output, the sandbox's limit").format(
                     signal=name, mib=sandbox.LIMITS[resource.RLIMIT_FSIZE] >> 20)
    return _("was killed by {signal}").format(signal=name)


# ------------------------------------------------ what every program is started with
#
# The crash reporter (support/crash_report.cpp) is preloaded into every
# student program; it writes what the exit status does not tell -- a crash
# and where, a listen() and its port, an exit(N) of a child that its parent
# reaped -- to records_dir(log_dir).  harness/diagnose.py reads them.

# The built crash reporter (set by build_crash_reporter), or None: then
# programs start without it.
crash_reporter = None


# support/crash_report.cpp, built as a library to preload.
CRASH_REPORTER = "crash_report"


def build_crash_reporter(folder: Path, prebuilt: Path = None):
    """Build support/crash_report.cpp into folder once (or copy it from the
    folder of prebuilt objects, harness/kit.py); returns the library's path,
    or None when it does not build (programs then run without it)."""
    global crash_reporter
    source = Path(__file__).resolve().parents[1] / "support" / f"{CRASH_REPORTER}.cpp"
    target = folder / f"{CRASH_REPORTER}.so"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    if prebuilt is not None and (prebuilt / target.name).is_file():
        shutil.copyfile(prebuilt / target.name, target)
        target.chmod(0o644)
        crash_reporter = target
        return crash_reporter
    build = compile_trusted(["g++", "-std=c++17", "-O2", "-shared", "-fPIC", "-o", str(target),
                             str(source), "-ldl"], folder, dict(os.environ), timeout=scaled(120))
    crash_reporter = target if build.returncode == 0 else None
    return crash_reporter


def compile_trusted(argv, folder: Path, env: dict, timeout: float) -> subprocess.CompletedProcess:
    """Run a compiler on the grader's own code (no sandbox), its temporary
    files in a folder of folder's, removed afterwards: a grader stopped in
    mid-build must leave nothing in the machine's TMPDIR (the compiler
    writes its .s, .o and .res there, and a killed one cannot remove them)."""
    temp = folder / ".compiler-tmp"
    temp.mkdir(parents=True, exist_ok=True)
    try:
        with profile.phase("compiling"):
            return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, env=dict(env, TMPDIR=str(temp)), timeout=timeout)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def records_dir(log_dir: Path) -> Path:
    return log_dir / "records"


def launch_env(env, log_dir: Path):
    """The environment a student program starts with: env (default: the
    grader's), plus the crash reporter, after any LD_PRELOAD env has."""
    if crash_reporter is None:
        return env
    env = dict(os.environ if env is None else env)
    folder = records_dir(log_dir)
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        sandbox.give_to_sandbox(folder)
    env["LD_PRELOAD"] = " ".join(filter(None, [env.get("LD_PRELOAD"), str(crash_reporter)]))
    env["FORKLAB_CRASH_DIR"] = str(folder)
    return env


def _popen(argv, *, cwd, stdin, stdout, stderr, env, limits):
    """Popen in a new session, as the sandbox user, with the sandbox's limits,
    under bubblewrap when the run uses it (sandbox.spawn: its pid and exit
    status are those of the program, not of bwrap)."""
    # The crash reporter writes its records there, under bwrap too.
    records = [env["FORKLAB_CRASH_DIR"]] if env and env.get("FORKLAB_CRASH_DIR") else []
    return sandbox.spawn(argv, cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr, env=env,
                         limits=limits, also_writable=records)


def popen_in_session(argv, *, cwd=None, stdin=subprocess.DEVNULL, stdout=None, stderr=None,
                     env=None) -> subprocess.Popen:
    """Popen of a program of the kit's own in a new session (its own process
    group, no controlling terminal): no sandbox, no limits, no crash reporter.
    OSError when argv[0] cannot run."""
    with profile.phase("starting"):
        return subprocess.Popen([str(a) for a in argv], cwd=cwd, stdin=stdin, stdout=stdout,
                                stderr=stderr, env=env, start_new_session=True)


# How much of a program's output a test log keeps: its head and its tail.
KEPT_OUTPUT = 32 << 10


def read_tail(path: Path, size: int = KEPT_OUTPUT) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - size))
            return f.read()
    except OSError:
        return b""


def capped_output(path: Path, keep: int = KEPT_OUTPUT) -> str:
    """A program's output, its head and tail only when it is longer than 2 * keep."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            if size <= 2 * keep:
                return f.read().decode(errors="replace")
            head = f.read(keep)
    except OSError:
        return ""
    return (head.decode(errors="replace")
            + "\n" + _("[... {count} bytes of output left out ...]").format(
                count=size - 2 * keep) + "\n"
            + read_tail(path, keep).decode(errors="replace"))


def trim_log(path: Path, keep: int = KEPT_OUTPUT) -> None:
    """Cut a long log to its head and tail, so a run's scratch stays small."""
    try:
        if path.stat().st_size > 2 * keep:
            text = capped_output(path, keep)
            path.write_text(text, errors="replace")
    except OSError:
        pass


def start(name: str, argv: list, *, log_dir: Path, cwd: Path = None,
          stdin=subprocess.DEVNULL, stdout=None, env=None, limits=None,
          contained: bool = True) -> Program:
    """Start argv in its own session, output to log_dir/NAME.log.

    The program runs contained (harness/sandbox.py).  Its working folder is
    `cwd`, or, when it runs as the sandbox user (or cwd is None), a fresh
    folder log_dir/NAME.cwd of its own.  stdin and stdout may be descriptors
    the test drives (a pipe, a terminal); then only stderr goes to the log.
    limits: {resource.RLIMIT_NOFILE: 32, ...} lowers the sandbox's limits for
    this program.

    contained=False starts a program of the kit's own instead (popen_in_session):
    uncontained, in `cwd` as given, with deadlines not scaled."""
    if not contained and limits:
        raise ValueError("limits apply to a contained program only")
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    if contained and (cwd is None or sandbox.sandbox_uid() is not None):
        cwd = sandbox.work_dir(log_dir, name)
    with open(log_path, "wb") as log:
        streams = dict(stdin=stdin, stdout=log if stdout is None else stdout,
                       stderr=subprocess.STDOUT if stdout is None else log)
        if contained:
            popen = _popen(argv, cwd=cwd, env=launch_env(env, log_dir), limits=limits, **streams)
        else:
            popen = popen_in_session(argv, cwd=cwd, env=env, **streams)
    program = Program(name, list(argv), popen, log_path, contained)
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

    def describe(self) -> str:
        if self.timed_out:
            return _("did not finish before the deadline and was stopped")
        return describe_returncode(self.returncode)


def _feed(pipe, data: bytes) -> None:
    """Write data to a program's stdin, then close it (end of file)."""
    try:
        if data:
            pipe.write(data)
        pipe.close()
    except (BrokenPipeError, OSError, ValueError):
        pass  # the program stopped reading: what it did is what we grade


def run(name: str, argv: list, *, log_dir: Path, cwd: Path = None, input: bytes = b"",
        timeout: float = 10, env=None, limits=None) -> Finished:
    """Run argv to completion in its own session, feeding `input` on stdin.

    stdout and stderr go to files (log_dir/NAME.stdout, .stderr), so that a
    grandchild that keeps them open cannot make the grader wait.  At the
    (scaled) deadline the program and everything it started are killed and
    timed_out is set: the caller never hangs."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.stdout", log_dir / f"{name}.stderr"
    if cwd is None or sandbox.sandbox_uid() is not None:
        cwd = sandbox.work_dir(log_dir, name)
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        popen = _popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=out, stderr=err,
                       env=launch_env(env, log_dir), limits=limits)
    program = Program(name, list(argv), popen, out_path)
    started_in_this_test.append(program)
    feeder = threading.Thread(target=_feed, args=(popen.stdin, input), daemon=True)
    feeder.start()
    try:
        popen.wait(timeout=scaled(timeout))
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    if timed_out:
        kill_tree(popen.pid)
        popen.wait()
    feeder.join(timeout=scaled(5))
    return Finished(None if timed_out else popen.returncode, out_path.read_bytes(),
                    err_path.read_bytes(), timed_out, time.monotonic() - started)


def kill_tree(pid: int) -> None:
    """SIGKILL a program, its process group, and every descendant of it."""
    tree = processes(descendant_pids(pid))
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for proc in tree:
        try:
            proc.kill()
        except psutil.Error:
            pass


def descendants():
    """The grader's descendants (psutil.Process objects)."""
    return processes(descendant_pids(os.getpid()))


def end_all(timeout: float = 10) -> list:
    """SIGKILL every descendant of the grader and reap them.  Returns the
    pids that were still there (an empty list when all went well)."""
    for program in started_in_this_test:
        program.stop(timeout=0.5)
    for _attempt in range(3):  # a process may fork while we kill its parent
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
