"""The uid student programs run as, for harness/sandbox.py (which offers
these names too): as root, one that no process uses (sandbox_uid,
pick_free_uid; FORKLAB_SANDBOX_UID forces one), its processes counted
(processes_of_uid), and what it left in the machine's shared temporary
folders swept away (sweep_shared_tmp).
"""

import os
import shutil
import stat

import psutil

from grader.settings import whole_number


# The uids student programs run as when the grader is root: one no process
# uses, so that two graders running at once (a batch's workers, an
# instructor's two terminals) never share a process limit or files.
# FORKLAB_SANDBOX_UID forces one.
FIRST_SANDBOX_UID = 61000
SANDBOX_UIDS = 3000
FORCED_UID = whole_number("FORKLAB_SANDBOX_UID", None)
_chosen_uid = None


def uids_in_use() -> set:
    used = set()
    for proc in psutil.process_iter(["uids"]):
        if proc.info["uids"] is not None:
            used.add(proc.info["uids"].real)
    return used


def pick_free_uid(avoid=(), first: int = FIRST_SANDBOX_UID, count: int = SANDBOX_UIDS) -> int:
    """A uid of [first, first + count) that no running process has, starting
    from one derived from our pid so that concurrent graders start their
    search apart."""
    used = uids_in_use() | set(avoid)
    start = os.getpid() % count
    for offset in range(count):
        uid = first + (start + offset) % count
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


def sweep_shared_tmp(since: float, folders=("/tmp", "/var/tmp", "/dev/shm")) -> list:
    """Remove what the sandbox user created or changed, since the time
    `since`, in the machine's shared temporary folders (possible in the uid
    fallback; under bwrap they are private).  Only as root, where the
    sandbox uid is this run's alone."""
    uid = sandbox_uid()
    removed = []
    if uid is None:
        return removed
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
                if info.st_uid != uid or info.st_ctime < since:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(entry.path)
            except OSError:
                pass
    return removed
