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

Without root the limits still apply but the uid cannot change, so the file
protection rests on the scratch copy alone (documented in grader/README.md).
"""

import os
import resource
import sys
import threading
from pathlib import Path

import psutil


def setting(name: str, default):
    """A positive whole number from the environment, or default.  A bad value
    ends the grader with a one-line message and exit status 2, as a bad
    argument does: this runs at import, before forklab_grade's main() could
    report it."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        print(f"grade: {name} must be a whole number of at least 1, not {text!r}",
              file=sys.stderr)
        raise SystemExit(2)
    return value


# Defaults, overridable through the environment for slow or small machines.
MAX_PROCESSES = setting("FORKLAB_MAX_PROCS", 1000)
LIMITS = {
    resource.RLIMIT_NOFILE: 1024,
    resource.RLIMIT_CPU: setting("FORKLAB_MAX_CPU_SECONDS", 60),
    resource.RLIMIT_AS: setting("FORKLAB_MAX_MEMORY_MB", 2048) << 20,
    resource.RLIMIT_FSIZE: 64 << 20,
    resource.RLIMIT_CORE: 0,
}
LIMIT_NAMES = {
    resource.RLIMIT_NOFILE: "open descriptors",
    resource.RLIMIT_CPU: "CPU seconds",
    resource.RLIMIT_AS: "bytes of address space",
    resource.RLIMIT_FSIZE: "bytes of file size",
}

# The uids student programs run as when the grader is root: one no process
# uses, so that two graders running at once (a batch's workers, an
# instructor's two terminals) never share a process limit or files.
# FORKLAB_SANDBOX_UID forces one.
FIRST_SANDBOX_UID = 61000
SANDBOX_UIDS = 3000
FORCED_UID = setting("FORKLAB_SANDBOX_UID", None)
_chosen_uid = None


def uids_in_use() -> set:
    used = set()
    for proc in psutil.process_iter(["uids"]):
        if proc.info["uids"] is not None:
            used.add(proc.info["uids"].real)
    return used


def pick_free_uid(avoid=()) -> int:
    """A sandbox uid that no running process has, starting from one derived
    from our pid so that concurrent graders start their search apart."""
    used = uids_in_use() | set(avoid)
    start = os.getpid() % SANDBOX_UIDS
    for offset in range(SANDBOX_UIDS):
        uid = FIRST_SANDBOX_UID + (start + offset) % SANDBOX_UIDS
        if uid not in used:
            return uid
    raise RuntimeError("no free sandbox uid")


def sandbox_uid():
    """The uid to run student code as, or None when the grader is not root."""
    global _chosen_uid
    if os.geteuid() != 0:
        return None
    if FORCED_UID is not None:
        return FORCED_UID
    if _chosen_uid is None:
        _chosen_uid = pick_free_uid()
    return _chosen_uid


def processes_of_uid(uid: int) -> int:
    count = 0
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info["uids"]
        if uids is not None and uids.real == uid:
            count += 1
    return count


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
        me = psutil.Process()
        while not self._stop.wait(self.interval):
            try:
                tree = me.children(recursive=True)
            except psutil.Error:
                continue
            if len(tree) > MAX_PROCESSES:
                self.tripped = True
                for proc in tree:
                    try:
                        proc.kill()
                    except psutil.Error:
                        pass


def describe_limits() -> str:
    parts = [f"{MAX_PROCESSES} processes"]
    for which, name in LIMIT_NAMES.items():
        value = LIMITS[which]
        if which in (resource.RLIMIT_AS, resource.RLIMIT_FSIZE):
            parts.append(f"{value >> 20} MiB of {name.split(' of ')[1]}")
        else:
            parts.append(f"{value} {name}")
    uid = sandbox_uid()
    who = f"uid {uid}" if uid is not None else "the grader's own uid (not root)"
    return f"student programs run as {who} with at most " + ", ".join(parts)
