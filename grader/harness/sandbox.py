"""Containment of student code.

Student code is untrusted.  Every student program -- the build of a
submission, the unit-test binaries, servers, clients -- runs with resource
limits, and, when the grader runs as root, as an unprivileged user id that
owns nothing of the grader's:

- processes: RLIMIT_NPROC for that uid, and a watchdog in the grader that ends
  the whole tree once a test's programs exceed MAX_PROCESSES ("your program
  created more than N processes");
- descriptors (RLIMIT_NOFILE), CPU seconds (RLIMIT_CPU), address space
  (RLIMIT_AS), file size (RLIMIT_FSIZE), no core dumps;
- files: the scratch kit is handed to the sandbox user for the build only,
  then given back to root and made read-only; a program's working directory
  is a fresh folder of its own.  It cannot write into the grader, the kit, its
  logs, or another submission (graded under another uid in a batch).

Without root the limits still apply but the uid cannot change.

On top of that, every student program runs under bubblewrap (bwrap), in
mount, IPC and UTS namespaces of its own and a user namespace that owns
nothing outside: the system read-only, a private empty /tmp, /var/tmp and
/dev/shm, and of the grader's files only the scratch folder of this
submission (read-only) and the program's own working folder (writable).
The kit that grades it, other submissions, the grader's logs and its results
are not there at all.  The network is shared, so the grader still talks to a
server on 127.0.0.1.  Where bwrap cannot run (no user namespaces), or with
FORKLAB_SANDBOX=uid, the grader falls back to the uid and the limits alone
and says so (describe(), results.json's extra_data.sandbox).
"""

import json
import os
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import psutil

from grader.i18n import _

from grader.settings import one_of, whole_number

from . import profile
# The uid student programs run as (sandbox_uids.py), its names importable from here.
from .sandbox_uids import (  # noqa: F401
    FIRST_SANDBOX_UID, FORCED_UID, SANDBOX_UIDS, pick_free_uid, processes_of_uid, sandbox_uid,
    sweep_shared_tmp, uids_in_use)


# Defaults, overridable through the environment for slow or small machines.
MAX_PROCESSES = whole_number("FORKLAB_MAX_PROCS", 1000)
LIMITS = {
    resource.RLIMIT_NOFILE: 1024,
    resource.RLIMIT_CPU: whole_number("FORKLAB_MAX_CPU_SECONDS", 60),
    resource.RLIMIT_AS: whole_number("FORKLAB_MAX_MEMORY_MB", 2048) << 20,
    resource.RLIMIT_FSIZE: 64 << 20,
    resource.RLIMIT_CORE: 0,
}
LIMIT_NAMES = {
    resource.RLIMIT_NOFILE: "open descriptors",
    resource.RLIMIT_CPU: "CPU seconds",
    resource.RLIMIT_AS: "bytes of address space",
    resource.RLIMIT_FSIZE: "bytes of file size",
}


def nproc_limit() -> int:
    """RLIMIT_NPROC counts every process of the real uid.  As root the sandbox
    uid has none of its own, otherwise the user's other processes count too."""
    uid = sandbox_uid()
    # A margin above the watchdog's threshold, so that the watchdog sees the
    # bomb and reports it, rather than forks failing quietly at the limit.
    margin = 50
    if uid is None:
        return processes_of_uid(os.getuid()) + MAX_PROCESSES + margin
    return MAX_PROCESSES + margin


# A build may use more CPU than a program under test (the compiler).
BUILD_CPU_SECONDS = 600


def preexec(extra_limits=None, build=False):
    """preexec_fn for Popen: the kit's limits, then the test's own (lower) ones."""
    limits = dict(LIMITS)
    limits[resource.RLIMIT_NPROC] = nproc_limit()
    if build:
        limits[resource.RLIMIT_CPU] = BUILD_CPU_SECONDS
    for which, value in (extra_limits or {}).items():
        limits[which] = min(value, limits.get(which, value))

    def apply():
        for which, value in limits.items():
            _soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            # At the soft CPU limit the kernel sends SIGXCPU, at the hard one
            # SIGKILL: one second apart, so the report can name the cause.
            new_hard = value + 1 if which == resource.RLIMIT_CPU else value
            if hard != resource.RLIM_INFINITY:
                new_hard = min(new_hard, hard)
            resource.setrlimit(which, (value, new_hard))

    return apply


def popen_identity() -> dict:
    """Popen keyword arguments that drop root, if we have it."""
    uid = sandbox_uid()
    if uid is None:
        return {}
    return {"user": uid, "group": uid, "extra_groups": []}


def give_to_sandbox(path: Path) -> None:
    """Let the sandbox user write under path (a build, a working folder)."""
    uid = sandbox_uid()
    if uid is None:
        return
    for item in [path, *path.rglob("*")]:
        os.lchown(item, uid, uid)


def take_back(path: Path) -> None:
    """Give path back to root and make it read-only for everybody else, so
    that a program under test cannot alter what grades it."""
    if sandbox_uid() is None:
        return
    for item in [path, *path.rglob("*")]:
        os.lchown(item, 0, 0)
        if not item.is_symlink():
            mode = item.stat().st_mode
            os.chmod(item, mode & ~0o022)


def work_dir(parent: Path, name: str) -> Path:
    """A fresh working folder for one program, writable by it alone."""
    path = parent / f"{name}.cwd"
    path.mkdir(parents=True, exist_ok=True)
    give_to_sandbox(path)
    return path


# --- bubblewrap -----------------------------------------------------------

SANDBOX_MODES = ("auto", "bwrap", "uid")


def mode_setting() -> str:
    """FORKLAB_SANDBOX: auto (bwrap where it works, else the uid fallback),
    bwrap (bwrap or nothing), uid (the fallback)."""
    return one_of("FORKLAB_SANDBOX", SANDBOX_MODES, "auto")


REQUESTED_MODE = mode_setting()
BWRAP = shutil.which("bwrap") or "/usr/bin/bwrap"

# Sizes of the private temporary folders (tmpfs: memory, and only what is used).
TMP_BYTES = 256 << 20
SMALL_TMP_BYTES = 64 << 20


class SandboxError(Exception):
    """bwrap could not start a program (a grader problem, not the student's)."""


@dataclass(frozen=True)
class Choice:
    mode: str  # "bwrap" or "uid"
    reason: str = ""  # why the uid fallback was taken

    def as_json(self) -> dict:
        data = {"mode": self.mode, "summary": describe()}
        if self.reason:
            data["fallback_reason"] = self.reason
        return data


_choice = None
# What a sandbox shows of the grader's files (confine()).
_scratch = None
_readonly = ()


_bwrap_help = None


def bwrap_has(option: str) -> bool:
    """Whether this bwrap knows option (--size and --disable-userns are recent)."""
    global _bwrap_help
    if _bwrap_help is None:
        try:
            _bwrap_help = subprocess.run([BWRAP, "--help"], stdin=subprocess.DEVNULL,
                                         capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            _bwrap_help = ""
    return option in _bwrap_help.split()


def tmpfs(path: str, size: int) -> list:
    return (["--size", str(size)] if bwrap_has("--size") else []) + ["--tmpfs", path]


def system_binds() -> list:
    """bwrap arguments for the system: read-only, with private temporary
    folders, a minimal /dev, and the host's /proc (read-only) so that the
    grader's psutil sees the same pids as the program."""
    args = ["--unshare-user", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    if bwrap_has("--disable-userns"):
        args.append("--disable-userns")  # no nested namespaces either
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--ro-bind", "/proc", "/proc", "--ro-bind", "/sys", "/sys", "--dev", "/dev",
             *tmpfs("/dev/shm", SMALL_TMP_BYTES), *tmpfs("/tmp", TMP_BYTES),
             *tmpfs("/var/tmp", SMALL_TMP_BYTES), "--setenv", "TMPDIR", "/tmp"]
    return args


def probe() -> str:
    """'' when bwrap can start a program here as the sandbox user, else why not."""
    if not Path(BWRAP).is_file():
        return "bubblewrap (bwrap) is not installed"
    try:
        proc = subprocess.run([BWRAP, *system_binds(), "--remount-ro", "/", "--", "true"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=30, **popen_identity())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not run ({type(exc).__name__}: {exc})"
    if proc.returncode != 0:
        said = proc.stderr.decode(errors="replace").strip().splitlines()
        return f"bwrap failed: {said[0] if said else f'exit status {proc.returncode}'}"
    return ""


def choose() -> Choice:
    """The sandbox of this grading run, decided once (FORKLAB_SANDBOX, then a
    probe).  FORKLAB_SANDBOX=bwrap where bwrap cannot run is a usage error."""
    global _choice
    if _choice is None:
        if REQUESTED_MODE == "uid":
            _choice = Choice("uid", "FORKLAB_SANDBOX=uid")
        else:
            reason = probe()
            if reason and REQUESTED_MODE == "bwrap":
                print(f"grade: FORKLAB_SANDBOX=bwrap, but {reason}", file=sys.stderr)
                raise SystemExit(2)
            _choice = Choice("uid", reason) if reason else Choice("bwrap")
    return _choice


def using_bwrap() -> bool:
    return _choice is not None and _choice.mode == "bwrap" and _scratch is not None


def confine(scratch: Path, readonly=()) -> None:
    """What the sandboxes of this run may see: the scratch folder, read-only,
    and read-only folders of the grader's own (prebuilt kit objects)."""
    global _scratch, _readonly
    _scratch = Path(scratch).resolve()
    _readonly = tuple(Path(p).resolve() for p in readonly)


def reachable_by_others(path: Path) -> bool:
    """Whether a user who owns nothing can walk down to path (bwrap, run as
    the sandbox user, looks its folders up by name)."""
    path = path.resolve()
    for folder in [path, *path.parents]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def scratch_parent() -> str:
    """Where this run makes its scratch folder: the usual temporary folder,
    unless the sandbox user could not reach it there (a TMPDIR inside a
    folder private to root), then /tmp."""
    here = Path(tempfile.gettempdir())
    if sandbox_uid() is None or reachable_by_others(here):
        return str(here)
    return "/tmp"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def bwrap_args(cwd: Path, writable=None, also_writable=()) -> list:
    """The whole bwrap command line up to `--` for a program working in cwd.
    writable: the folders it may write (default: its working folder, unless
    that is one of the kit's lab folders of the scratch copy), and also_writable."""
    cwd = Path(cwd).resolve()
    if writable is None:
        lab_folder = _inside(cwd, _scratch) and not _inside(cwd, _scratch / "runs")
        writable = [] if lab_folder else [cwd]
    writable = list(writable) + [Path(f).resolve() for f in also_writable
                                 if Path(f).resolve() not in map(Path, writable)]
    args = system_binds()
    args += ["--ro-bind", str(_scratch), str(_scratch)]
    for folder in writable:
        args += ["--bind", str(folder), str(folder)]
    for folder in _readonly:
        args += ["--ro-bind", str(folder), str(folder)]
    if not _inside(cwd, _scratch) and cwd not in map(Path, writable):
        args += ["--ro-bind", str(cwd), str(cwd)]
    return args + ["--remount-ro", "/", "--chdir", str(cwd)]


class Contained:
    """The Popen of a bwrap that runs one student program, showing the
    program: pid is the program's own (bwrap's child, the leader of its own
    session and process group), and the exit status is the program's --
    bwrap reports "killed by signal N" as 128 + N, which is turned back into
    -N as Popen gives it (an exit status of 129-192 chosen by the program
    itself would read as a signal)."""

    def __init__(self, popen: subprocess.Popen, pid: int):
        self.bwrap = popen
        self.pid = pid
        self.stdin = popen.stdin
        self.args = popen.args

    @staticmethod
    def _program_status(code):
        if code is not None and 128 < code <= 128 + signal.SIGRTMAX:
            return -(code - 128)
        return code

    def poll(self):
        return self._program_status(self.bwrap.poll())

    def wait(self, timeout=None):
        return self._program_status(self.bwrap.wait(timeout=timeout))

    @property
    def returncode(self):
        return self._program_status(self.bwrap.returncode)


def _child_pid(info_fd: int, timeout: float = 30):
    """The pid bwrap writes to --info-fd once it has cloned the program, or
    None if bwrap exits first."""
    data = b""
    while select.select([info_fd], [], [], timeout)[0]:
        chunk = os.read(info_fd, 4096)
        if not chunk:
            return None
        data += chunk
        try:
            return int(json.loads(data)["child-pid"])
        except ValueError:
            continue
    return None


def spawn(argv, **options):
    """Start a student program contained: in its own session, with the
    limits, as the sandbox user, and under bwrap when this run uses it.
    also_writable: folders it may write besides the default ones (the crash
    reporter's records).  Returns a Popen (or a Contained that behaves as one)."""
    with profile.phase("starting"):
        return _spawn(argv, **options)


def _spawn(argv, *, cwd, stdin=None, stdout=None, stderr=None, env=None, limits=None,
           build=False, writable=None, also_writable=()):
    argv = [str(a) for a in argv]
    options = dict(cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr, env=env,
                   start_new_session=True, preexec_fn=preexec(limits, build=build),
                   **popen_identity())
    if not using_bwrap():
        return subprocess.Popen(argv, **options)
    read_end, write_end = os.pipe()
    try:
        popen = subprocess.Popen([BWRAP, *bwrap_args(cwd, writable, also_writable), "--info-fd",
                                  str(write_end), "--", *argv], pass_fds=(write_end,), **options)
    finally:
        os.close(write_end)
    try:
        pid = _child_pid(read_end)
    finally:
        os.close(read_end)
    if pid is None:
        popen.kill()
        popen.wait()
        raise SandboxError(f"bwrap could not start {argv[0]} (exit status {popen.returncode})")
    return Contained(popen, pid)


class Watchdog:
    """Counts the grader's descendants a few times a second; when a test's
    programs exceed MAX_PROCESSES it ends them all at once and remembers it,
    so the test fails with "created more than N processes" instead of the
    machine filling with processes."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.tripped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="forklab-watchdog",
                                        daemon=True)

    def start(self) -> "Watchdog":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def reset(self) -> None:
        self.tripped = False

    def _run(self) -> None:
        from .procs import descendant_pids, processes  # procs imports this module
        while not self._stop.wait(self.interval):
            # The machine's count of tasks (/proc/loadavg) is one small read;
            # the grader's tree is walked only when the machine holds more
            # tasks than the limit, so a bomb cannot pass unseen.
            if tasks_on_the_machine() <= MAX_PROCESSES:
                continue
            tree = descendant_pids(os.getpid())
            if len(tree) > MAX_PROCESSES:
                self.tripped = True
                for proc in processes(tree):
                    try:
                        proc.kill()
                    except psutil.Error:
                        pass


def tasks_on_the_machine() -> int:
    """Every thread of every process on the machine (/proc/loadavg's fourth
    field: runnable/total); a large number when it cannot be read."""
    try:
        with open("/proc/loadavg") as loadavg:
            return int(loadavg.read().split()[3].split("/")[1])
    except (OSError, IndexError, ValueError):
        return 1 << 30


def describe_limits() -> str:
    parts = [_("{count} processes").format(count=MAX_PROCESSES)]
    for which in LIMIT_NAMES:
        value = LIMITS[which]
        if which == resource.RLIMIT_AS:
            parts.append(_("{mib} MiB of address space").format(mib=value >> 20))
        elif which == resource.RLIMIT_FSIZE:
            parts.append(_("{mib} MiB of file size").format(mib=value >> 20))
        elif which == resource.RLIMIT_NOFILE:
            parts.append(_("{count} open descriptors").format(count=value))
        else:
            parts.append(_("{count} CPU seconds").format(count=value))
    uid = sandbox_uid()
    who = (_("uid {uid}").format(uid=uid) if uid is not None
           else _("the grader's own uid (not root)"))
    return _("student programs run as {who} with at most {limits}").format(
        who=who, limits=_(", ").join(parts))


def describe() -> str:
    """One line on how student programs are contained in this run."""
    choice = choose()
    if choice.mode == "bwrap":
        caveat = "" if sandbox_uid() is not None else _(
            " (not root: they run as your own uid, so they could signal the grader)")
        return _("sandbox: bubblewrap -- the system read-only, a private /tmp, /var/tmp and "
                 "/dev/shm, nothing of the grader's but this submission's scratch folder"
                 ) + caveat
    return _("sandbox: NO bubblewrap ({reason}); only the uid and the limits contain "
             "student programs: they can read world-readable files and write /tmp").format(
                 reason=choice.reason)
