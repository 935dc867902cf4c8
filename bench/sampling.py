"""sampling.py -- what a server holds while the load runs: its processes,
zombies and memory (PSS), sampled by a thread, and the CPU time it spent."""

import threading

import psutil

from .model import COUNT_EVERY, SAMPLE_EVERY, ZOMBIE_LIMIT


def process_tree(pid):
    """The process pid and all its descendants, as psutil objects."""
    root = psutil.Process(pid)
    return [root] + root.children(recursive=True)


def memory_snapshot(pid, with_pss=True):
    """Processes, zombies and PSS (MB) of the server pid and its descendants."""
    count, zombies, pss = 0, 0, 0
    try:
        procs = process_tree(pid)
    except psutil.NoSuchProcess:
        return {"processes": 0, "zombies": 0, "pss_mb": 0.0}
    for proc in procs:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                zombies += 1
                continue
            if with_pss:
                pss += proc.memory_full_info().pss
            count += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return {"processes": count, "zombies": zombies, "pss_mb": pss / 2**20}


def idle_description(pid):
    """The server's parent process at rest: what every fork() has to copy."""
    proc = psutil.Process(pid)
    info = proc.memory_full_info()
    return {"mappings": len(proc.memory_maps(grouped=False)), "rss_mb": info.rss / 2**20,
            "pss_mb": info.pss / 2**20, "threads": proc.num_threads()}


class Sampler(threading.Thread):
    """Samples a server's process count and PSS while the load runs, keeping
    the peaks.  A server that does not reap its children would pile up
    zombies until the machine runs out of process ids: past ZOMBIE_LIMIT the
    sampler sets `abort`, and the load stops."""

    def __init__(self, pid, abort, count_every=COUNT_EVERY, pss_every=SAMPLE_EVERY,
                 pss_at_peak=False):
        super().__init__(daemon=True)
        self.pid = pid
        self.abort = abort
        self.count_every = count_every
        self.pss_every = pss_every
        self.pss_at_peak = pss_at_peak  # also read PSS whenever the process count peaks
        self.done = threading.Event()
        self.runaway = ""
        self.peak = {"processes": 0, "zombies": 0, "pss_mb": 0.0, "samples": 0}

    def run(self):
        tick = 0
        while not self.done.wait(self.count_every):
            tick += 1
            with_pss = tick % round(self.pss_every / self.count_every) == 1
            snap = memory_snapshot(self.pid, with_pss)
            if (self.pss_at_peak and not with_pss
                    and snap["processes"] > self.peak["processes"]):
                with_pss = True
                snap = memory_snapshot(self.pid, with_pss)
            for key in ("processes", "zombies", "pss_mb"):
                self.peak[key] = max(self.peak[key], snap[key])
            self.peak["samples"] += with_pss
            if snap["zombies"] > ZOMBIE_LIMIT:
                self.runaway = (f"stopped: {snap['zombies']} zombies (the server does not reap "
                                f"its children)")
                self.abort.set()
                return

    def result(self):
        self.done.set()
        self.join()
        return self.peak


def cpu_seconds(pid):
    """CPU seconds process pid spent itself, and its reaped children."""
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return {"parent": 0.0, "children": 0.0}
    return {"parent": t.user + t.system, "children": t.children_user + t.children_system}


def children_of(pid):
    """The children of pid, zombies included."""
    try:
        return psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return []
