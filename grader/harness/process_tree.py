"""Reading the process tree, for harness/procs.py (which offers these names
too): a process's children and descendants (from /proc, zombies included),
its state letter, what it has run and waited for (schedstat: Activity,
ActivityShare), the kernel function it sleeps in (wchan), and psutil's view
of the ones still there (processes, status_of, is_live).
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


# From /proc/PID/task/TID/children, the kernel's list of a thread's
# children (zombies included): a few small files, where psutil's children()
# reads the stat file of every process of the machine, many times a second
# in a test that waits for a state.

def _children_files_exist() -> bool:
    return Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists()


HAVE_CHILDREN_FILES = _children_files_exist()


def child_pids(pid: int) -> list:
    """The pids of process pid's children, zombies included ([] once it is gone)."""
    if not HAVE_CHILDREN_FILES:
        try:
            return [c.pid for c in psutil.Process(pid).children()]
        except psutil.Error:
            return []
    pids = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return pids
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                pids += [int(child) for child in listing.read().split()]
        except OSError:
            pass
    return pids


def descendant_pids(pid: int) -> list:
    """Every process below pid: children, their children, and so on."""
    found, frontier = [], [pid]
    while frontier:
        below = [child for parent in frontier for child in child_pids(parent)]
        found += below
        frontier = below
    return found


def state_letter(pid: int) -> str:
    """The state letter of /proc/PID/stat ('R', 'S', 'Z'...), '' once pid is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return chr(stat.read().rsplit(b")", 1)[1][1])
    except (OSError, IndexError):
        return ""


@dataclass(frozen=True)
class Activity:
    """How much a process has run, read from /proc at one moment (every
    thread of it summed): its CPU time, its time runnable but waiting for a
    core (schedstat), and how often it went to sleep of its own accord
    (voluntary context switches: each one a wake-up that ended in sleep)."""
    at: float
    on_cpu: float
    waiting_for_cpu: float
    sleeps: int

    def since(self, before: "Activity") -> "ActivityShare":
        elapsed = max(self.at - before.at, 1e-9)
        return ActivityShare(elapsed, self.on_cpu - before.on_cpu,
                             (self.on_cpu - before.on_cpu
                              + self.waiting_for_cpu - before.waiting_for_cpu) / elapsed,
                             self.sleeps - before.sleeps)


@dataclass(frozen=True)
class ActivityShare:
    """What a process did over `seconds`: CPU time used, the share of the
    time it wanted a core (running or runnable: a busy loop is near 1 however
    loaded the machine, a process asleep near 0), and its wake-ups."""
    seconds: float
    cpu: float
    wanted_cpu: float
    wakeups: int


def activity(pid: int):
    """An Activity of process pid, or None once it is gone (or when the
    kernel does not report it)."""
    on_cpu = waiting = 0
    sleeps = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as schedstat:
                ran, waited, _slices = schedstat.read().split()
            with open(f"/proc/{pid}/task/{task}/status") as status:
                for line in status:
                    if line.startswith("voluntary_ctxt_switches:"):
                        sleeps += int(line.split()[1])
        except (OSError, ValueError):
            continue
        on_cpu += int(ran)
        waiting += int(waited)
    return Activity(time.monotonic(), on_cpu / 1e9, waiting / 1e9, sleeps)


def waiting_in(pid: int) -> str:
    """The kernel function process pid sleeps in (/proc/PID/wchan:
    'hrtimer_nanosleep', 'poll_schedule_timeout'...), '' when it runs, has
    gone, or the kernel does not say."""
    try:
        with open(f"/proc/{pid}/wchan") as wchan:
            name = wchan.read().strip()
    except OSError:
        return ""
    return "" if name == "0" else name


def processes(pids) -> list:
    """psutil.Process objects of the pids still there."""
    found = []
    for pid in pids:
        try:
            found.append(psutil.Process(pid))
        except psutil.Error:
            pass
    return found


def status_of(proc):
    """psutil's status of proc, or None once it is gone."""
    try:
        return proc.status()
    except psutil.NoSuchProcess:
        return None


def is_live(proc) -> bool:
    """Running or sleeping: neither gone nor a zombie."""
    return status_of(proc) not in (None, psutil.STATUS_ZOMBIE)
