"""The crash reporter's records, and where a crash happened.

Every student program runs with a preloaded reporter
(grader/support/crash_report.cpp) that writes a record file per process
into the test's records folder (procs.records_dir): the ports it listened
on and bound, the children that called accept, the exits, and for a
process that died of a signal its program counter, backtrace and memory
map.  read_records() reads them; symbolize() and describe_place() turn a
crash into the function and file:line where it happened (addr2line reads
the -g build).  harness/diagnose.py names the causes from them.
"""

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from grader.i18n import _

from . import procs


@dataclass
class Crash:
    pid: int
    ppid: int
    signo: int
    pc: int
    exe: str = ""
    frames: list = field(default_factory=list)
    maps: str = ""
    caller: int = 0  # the return address at the crash (the crash reporter's "caller")


@dataclass
class Records:
    crashes: list = field(default_factory=list)
    listens: list = field(default_factory=list)  # (pid, ppid, port)
    binds: list = field(default_factory=list)  # (pid, ppid, port, errno or 0)
    accepts: list = field(default_factory=list)  # (pid, ppid) of a child that called accept
    exits: list = field(default_factory=list)  # (pid, ppid, status)


def read_records(folders) -> Records:
    records = Records()
    for folder in folders:
        for path in sorted(Path(folder).glob("*.rec")):
            try:
                lines = path.read_text(errors="replace").splitlines()
            except OSError:
                continue
            crash = None
            for line in lines:
                words = line.split()
                try:
                    if words[0] == "crash" and len(words) >= 6:
                        crash = Crash(int(words[1]), int(words[2]), int(words[3]),
                                      int(words[5], 16))
                        maps = path.with_suffix(".maps")
                        crash.maps = maps.read_text(errors="replace") if maps.exists() else ""
                        records.crashes.append(crash)
                    elif words[0] == "caller" and crash is not None and len(words) == 2:
                        crash.caller = int(words[1], 16)
                    elif words[0] == "exe" and crash is not None:
                        crash.exe = line[4:]
                    elif words[0] == "frame" and crash is not None:
                        crash.frames.append(int(words[1], 16))
                    elif words[0] == "listen" and len(words) == 4:
                        records.listens.append((int(words[1]), int(words[2]), int(words[3])))
                    elif words[0] == "bind" and len(words) == 5:
                        records.binds.append(tuple(int(w) for w in words[1:]))
                    elif words[0] == "accept" and len(words) == 3:
                        records.accepts.append((int(words[1]), int(words[2])))
                    elif words[0] == "exit" and len(words) == 4:
                        records.exits.append((int(words[1]), int(words[2]), int(words[3])))
                except (ValueError, IndexError):
                    continue
    return records


def listened_ports(program) -> list:
    """The ports program's own process listened on (crash reporter records)."""
    records = read_records([procs.records_dir(program.log_path.parent)])
    return sorted({port for pid, _ppid, port in records.listens if pid == program.pid})


def bound_ports(program) -> list:
    """[(port, errno)] of the bind() calls of program's own process."""
    records = read_records([procs.records_dir(program.log_path.parent)])
    return [(port, err) for pid, _ppid, port, err in records.binds if pid == program.pid]


def _mappings(maps: str):
    """(start, end, offset, path) of each file mapping."""
    for line in maps.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and "-" in parts[0]:
            start, end = (int(x, 16) for x in parts[0].split("-"))
            yield start, end, int(parts[2], 16), parts[5].strip()


def symbolize(crash: Crash) -> list:
    """[(function, 'file.cpp:42' or library name, in_program)] from the
    faulting instruction outward, the reporter's own frames left out."""
    maps = list(_mappings(crash.maps))
    base = min((start - offset for start, _end, offset, path in maps if path == crash.exe),
               default=None)
    frames = crash.frames
    if not any(s <= crash.pc < e for s, e, _o, _p in maps) and crash.caller:
        # A jump to an address outside the program: backtrace() cannot unwind
        # from there; the caller's return address says where it came from.
        frames = [crash.pc, crash.caller]
    elif crash.pc in frames:
        frames = frames[frames.index(crash.pc):]
    else:
        frames = [crash.pc] + [f for f in frames if not _in_reporter(f, maps)][1:]
    wanted, located = [], []
    for i, address in enumerate(frames):
        lookup = address if i == 0 else address - 1  # a return address is after the call
        path = next((p for s, e, _o, p in maps if s <= address < e), "")
        if path == crash.exe and base is not None:
            wanted.append(lookup - base)
            located.append(None)
        else:
            located.append(("", Path(path).name or "?", False))
    names = _addr2line(crash.exe, wanted) if wanted else []
    named = iter(names)
    return [entry if entry is not None else next(named, ("??", "??", True))
            for entry in located]


def _in_reporter(address, maps) -> bool:
    return any(s <= address < e and "crash_report" in p for s, e, _o, p in maps)


def _addr2line(exe: str, addresses: list) -> list:
    """[(function, 'file:line', True)], one per address.  An address in code
    the compiler inlined (std::vector::at inside serve_client) stands for a
    chain of places, innermost first: the first one in the program's own
    sources is taken, not a line of a system header."""
    try:
        out = subprocess.run(["addr2line", "-a", "-f", "-C", "-i", "-e", exe,
                              *(hex(a) for a in addresses)], capture_output=True, text=True,
                             timeout=20, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    chains, lines = [], out.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("0x"):
            chains.append([])
            i += 1
            continue
        if chains and i + 1 < len(lines):
            where = re.sub(r" \(discriminator \d+\)", "", lines[i + 1])
            chains[-1].append((lines[i].split("(")[0], where))  # f(int, ...) -> f
        i += 2
    result = []
    for chain in chains:
        own = [(f, w) for f, w in chain if not w.startswith(("/usr/", "??"))]
        function, where = (own or chain or [("??", "??")])[0]
        file, _, line = where.rpartition(":")
        result.append((function, f"{Path(file).name}:{line}" if file else where, True))
    return result


def describe_place(frames: list) -> tuple:
    """('at server.cpp:42 in serve_client (called from main at server.cpp:90)',
    'server.cpp:42')"""
    ours = [(f, w) for f, w, mine in frames if mine and not w.startswith("??")]
    nowhere = bool(frames) and not frames[0][2] and frames[0][1] == "?"
    if not ours:
        libs = [w for _f, w, mine in frames if not mine and w != "?"]
        if nowhere:
            return _("at an address outside the program's code (a call through a null or "
                     "overwritten function pointer, or a return address overwritten by an "
                     "array on the stack written past its end)"), _("the code it ran last")
        return (_("inside {library}").format(library=libs[0]) if libs
                else _("at an unknown place")), _("the code it ran last")
    function, where = ours[0]
    text = _("at {where} in {function}").format(where=where, function=function)
    if nowhere:
        text = _("at an address outside the program's code, reached from {where} in "
                 "{function} (a call through a null or overwritten function pointer?)").format(
                     where=where, function=function)
    elif frames and not frames[0][2]:
        text = _("in a function of {library} called {place}").format(library=frames[0][1],
                                                                     place=text)
    if len(ours) > 1:
        text += _(" (called from {function} at {where})").format(function=ours[1][0],
                                                                 where=ours[1][1])
    return text, where
