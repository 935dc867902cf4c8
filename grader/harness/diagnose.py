"""The real cause of a failed test, named before any hint is chosen.

A beginner's single mistake -- a child that writes through a null pointer,
a loop that never reads, a reply printed instead of sent -- makes many tests
fail, each in its own words.  When a test fails, the grader looks at what
the test's programs did (observe(), called before they are ended) and names
the first symptom it recognises (diagnose()):

- a crash of any process of the program (a child its server reaped
  included), with the signal in plain words and the function and file:line
  where it happened (the crash reporter, support/crash_report.cpp, records
  the program counter, the backtrace and the memory map; addr2line reads
  the -g build);
- an output flood; a server listening on another port than its argument;
  a server that exited after it had listened; the reply printed to the
  server's output instead of sent; a process that burns CPU while the test
  waits for it; a child that exited with an error status; no reply at all.

A Diagnosis carries a key (two failures with the same key have one cause),
the text shown as "cause:" and, when the symptom makes the test's own hint
beside the point, the hint to show instead.  The symptoms are the same in
any lab; the hints name the labs' own code, so the labs' graded tests
provide them (`hints`, filled in by grader/tests/conftest.py).
"""

import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from grader.i18n import _

from . import procs
from .kit import _N

# The reply a server owes to the bytes sent, set by the labs' protocol
# (grader/tests/checks/protocol.py); None: the reply-printed cause is not looked for.
reply_to = None

# Output beyond this is a flood (a line per byte, the data itself...).
FLOOD_BYTES = 8 << 20
# A process that used at least BURN_SECONDS of CPU, and either this share
# of the wall time or was running when the test failed, was spinning while
# the test waited (on a loaded machine a busy loop gets less than a core).
BURN_SHARE = 0.5
BURN_SECONDS = 1.5

SIGNAL_WORDS = {
    signal.SIGSEGV: _N("segmentation fault: a read or write through a bad pointer (null, freed, "
                       "or past the end of an array)"),
    signal.SIGBUS: _N("bus error: an access to memory that is not there (a bad pointer)"),
    signal.SIGFPE: _N("arithmetic error: an integer division by zero"),
    signal.SIGABRT: _N("abort: the program stopped itself (a failed assert, an uncaught C++ "
                       "exception, or the C library finding its heap corrupted, e.g. a double "
                       "free)"),
    signal.SIGILL: _N("illegal instruction: often a function that ends without returning the "
                      "value it promised"),
}



# What a student should do about each cause, in the labs' words: the labs'
# graded tests fill this in (grader/tests/checks/cause_hints.py), keyed by
# the Diagnosis key's kind ("crash:SIGSEGV", "flood", "wrong-port", ...;
# "crash" for any other signal).  A cause without one keeps the test's own hint.
hints = {}


def _hint(kind: str, **fields) -> str:
    text = hints.get(kind)
    return _(text).format(**fields) if text else ""


# ------------------------------------------------------ the crash reporter's records

@dataclass
class Crash:
    pid: int
    ppid: int
    signo: int
    pc: int
    exe: str = ""
    frames: list = field(default_factory=list)
    maps: str = ""


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
    if crash.pc in frames:
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
    """[(function, 'file:line', True)], one per address (the innermost
    inlined function for each)."""
    try:
        out = subprocess.run(["addr2line", "-a", "-f", "-C", "-i", "-e", exe,
                              *(hex(a) for a in addresses)], capture_output=True, text=True,
                             timeout=20, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    result, lines = [], out.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("0x") and i + 2 < len(lines) + 1:
            function = lines[i + 1] if i + 1 < len(lines) else "??"
            where = lines[i + 2] if i + 2 < len(lines) else "??"
            where = re.sub(r" \(discriminator \d+\)", "", where)
            file, _, line = where.rpartition(":")
            function = function.split("(")[0]  # serve_client(int, ...) -> serve_client
            result.append((function, f"{Path(file).name}:{line}" if file else where, True))
            i += 3
            while i < len(lines) and not lines[i].startswith("0x"):
                i += 1  # the functions it was inlined into
        else:
            i += 1
    return result


def describe_place(frames: list) -> tuple:
    """('at server.cpp:42 in serve_client (called from main at server.cpp:90)',
    'server.cpp:42')"""
    ours = [(f, w) for f, w, mine in frames if mine and not w.startswith("??")]
    if not ours:
        libs = [w for _f, w, mine in frames if not mine]
        return (_("inside {library}").format(library=libs[0]) if libs
                else _("at an unknown place")), _("the code it ran last")
    function, where = ours[0]
    text = _("at {where} in {function}").format(where=where, function=function)
    if frames and not frames[0][2]:
        text = _("in a function of {library} called {place}").format(library=frames[0][1],
                                                                     place=text)
    if len(ours) > 1:
        text += _(" (called from {function} at {where})").format(function=ours[1][0],
                                                                 where=ours[1][1])
    return text, where


# ------------------------------------------------------------ observing

@dataclass
class Seen:
    """One program of the failed test, as it was when the test failed."""
    name: str
    pid: int
    port: int
    running: bool
    returncode: int
    exit_text: str
    tail: str
    output_size: int
    seconds: float
    cpu: float
    is_server: bool  # given a port to listen on (_is_server)
    output_path: Path
    spinning: bool = False


def _tree_cpu(pid: int) -> tuple:
    """(CPU seconds of pid and its live descendants, whether one of them is
    running -- on a CPU or ready for one -- right now)."""
    total, running = 0.0, False
    try:
        proc = psutil.Process(pid)
        tree = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return total, running
    for p in tree:
        try:
            times = p.cpu_times()
            total += times.user + times.system
            running = running or p.status() == psutil.STATUS_RUNNING
        except psutil.Error:
            pass
    return total, running


def _port_argument(argv):
    """The port of `server PORT`, None for other command lines."""
    args = [str(a) for a in argv[1:]]
    return int(args[0]) if len(args) == 1 and args[0].isdigit() else None


def _is_server(program) -> bool:
    """A program the test gave a port to listen on: net.start_server's, or
    one run as `PROGRAM PORT`."""
    return program.port is not None or _port_argument(program.argv) is not None


def observe(programs, sent: list, no_reply: bool) -> dict:
    """What the test's programs did, captured before clean-up ends them."""
    now = time.monotonic()
    seen = []
    for p in programs:
        running = p.running()
        cpu, spinning = _tree_cpu(p.pid) if running else (0.0, False)
        seen.append(Seen(p.name, p.pid, p.port or _port_argument(p.argv), running,
                         p.returncode, p.describe_exit(), p.tail(3).strip(), p.output_size(),
                         now - p.started, cpu,
                         _is_server(p), p.log_path, spinning))
    folders = sorted({procs.records_dir(p.log_path.parent) for p in programs})
    return {"programs": seen, "records": read_records(folders), "sent": list(sent),
            "no_reply": no_reply}


@dataclass
class Diagnosis:
    key: str
    text: str
    hint: str = ""


def _who(pid: int, ppid: int, programs) -> str:
    for p in programs:
        if p.pid == pid:
            return _("the {name} (pid {pid})").format(name=p.name, pid=pid)
    for p in programs:
        if p.pid == ppid:
            return _("the {name}'s child (pid {pid})").format(name=p.name, pid=pid)
    if programs:
        return _("a process the {name} started (pid {pid})").format(name=programs[0].name, pid=pid)
    return _("pid {pid}").format(pid=pid)


def _said(program) -> str:
    if program is None or not program.tail:
        return ""
    return _("; the {name}'s output ended with: {tail}").format(name=program.name,
                                                                 tail=repr(program.tail))


def _owner(pid: int, ppid: int, programs):
    return next((p for p in programs if p.pid in (pid, ppid)), programs[0] if programs else None)


def _crash(observation) -> Diagnosis:
    programs = observation["programs"]
    for crash in observation["records"].crashes:
        try:
            name = signal.Signals(crash.signo).name
        except ValueError:
            name = _("signal {number}").format(number=crash.signo)
        place, where = describe_place(symbolize(crash))
        who = _who(crash.pid, crash.ppid, programs)
        words = SIGNAL_WORDS.get(crash.signo, "")
        said = _said(_owner(crash.pid, crash.ppid, programs))
        if words:
            text = _("{who} died of {signal} -- {meaning} -- {place}").format(
                who=who, signal=name, meaning=_(words), place=place) + said
        else:
            text = _("{who} died of {signal} -- {place}").format(who=who, signal=name,
                                                                 place=place) + said
        hint = _hint(f"crash:{name}", where=where) or _hint("crash", where=where)
        return Diagnosis(f"crash:{name}:{where}", text, hint)
    return None


def _flood(observation) -> Diagnosis:
    for p in observation["programs"]:
        if p.output_size >= FLOOD_BYTES:
            killed = (_(" and was stopped by SIGXFSZ at the sandbox's output limit")
                      if p.returncode == -signal.SIGXFSZ else "")
            return Diagnosis(
                "flood", _("the {name} printed more than {limit} MiB ({size} MiB in {seconds} s)"
                           ).format(name=p.name, limit=FLOOD_BYTES >> 20,
                                    size=p.output_size >> 20, seconds=f"{p.seconds:.1f}") + killed,
                _hint("flood"))
    return None


def _wrong_port(observation) -> Diagnosis:
    for p in observation["programs"]:
        if not p.is_server or p.port is None:
            continue
        records = observation["records"]
        ports = sorted({port for pid, _pp, port in records.listens if pid == p.pid}
                       | {port for pid, _pp, port, _e in records.binds if pid == p.pid and port})
        if ports and p.port not in ports:
            shown = ", ".join(map(str, ports))
            return Diagnosis(
                "wrong-port", _("`{name} {port}` bound port {ports}, not port {port}, the port "
                                "given as its argument").format(name=p.name, port=p.port,
                                                                ports=shown),
                _hint("wrong-port"))
    return None


def _exited_after_listening(observation) -> Diagnosis:
    for p in observation["programs"]:
        # Status 0: it ended as if its work were done (an error exit says why itself).
        if not p.is_server or p.running or p.returncode != 0:
            continue
        ports = {port for pid, _pp, port in observation["records"].listens if pid == p.pid}
        if p.port in ports:
            return Diagnosis(
                "exited-after-listening", _("the {name} listened on port {port}, then {ended}"
                                            ).format(name=p.name, port=p.port,
                                                     ended=p.exit_text) + _said(p),
                _hint("exited-after-listening"))
    return None


def _reply_printed(observation) -> Diagnosis:
    if reply_to is None:
        return None
    for p in observation["programs"]:
        if not p.is_server:
            continue
        output = procs.read_tail(p.output_path, 1 << 20)
        for chunk in observation["sent"]:
            window = chunk[:24]
            if sum(chr(b).islower() for b in window) < 4:
                continue
            if reply_to(window) in output and window not in output:
                return Diagnosis(
                    "reply-printed", _("the {name} printed the reply to its own output instead "
                                       "of sending it to the client: {reply} appears in its "
                                       "output").format(name=p.name,
                                                        reply=repr(reply_to(window))),
                    _hint("reply-printed"))
    return None


def _burning(observation) -> Diagnosis:
    for p in observation["programs"]:
        if p.running and p.cpu >= BURN_SECONDS and (p.spinning
                                                     or p.cpu >= BURN_SHARE * p.seconds):
            return Diagnosis(
                "cpu-burn", _("the {name} used {cpu} s of CPU in {seconds} s while the test "
                              "waited for it: a loop that never ends or never waits?").format(
                                  name=p.name, cpu=f"{p.cpu:.1f}", seconds=f"{p.seconds:.1f}"),
                _hint("cpu-burn"))
    return None


def _child_accepted(observation) -> Diagnosis:
    programs = observation["programs"]
    for pid, ppid in observation["records"].accepts:
        return Diagnosis(
            "child-accepted", _("{who} called accept() itself: after its own client left, the "
                                "child went on into the accept loop").format(
                                    who=_who(pid, ppid, programs)),
            _hint("child-accepted"))
    return None


def _child_failed(observation) -> Diagnosis:
    programs = observation["programs"]
    for pid, ppid, status in observation["records"].exits:
        owner = next((p for p in programs if p.pid == ppid and p.is_server), None)
        if owner is not None:
            return Diagnosis(
                f"child-exit:{status}", _("{who} exited with status {status}").format(
                    who=_who(pid, ppid, programs), status=status) + _said(owner),
                "")
    return None


def _server_exited(observation) -> Diagnosis:
    """A server that listened, then ended with an error: one cause for every
    test it fails the same way (the test's own hint stays)."""
    for p in observation["programs"]:
        if not p.is_server or p.running or p.returncode is None or p.returncode <= 0:
            continue
        ports = {port for pid, _pp, port in observation["records"].listens if pid == p.pid}
        if p.port in ports:
            last = p.tail.splitlines()[-1] if p.tail else ""
            return Diagnosis(f"server-exit:{p.returncode}:{last}",
                             _("the {name} listened on port {port}, then {ended}").format(
                                 name=p.name, port=p.port, ended=p.exit_text) + _said(p), "")
    return None


def _no_reply(observation) -> Diagnosis:
    if not observation["no_reply"]:
        return None
    servers = [p for p in observation["programs"] if p.is_server and p.running]
    if not servers:
        return None
    return Diagnosis("no-reply", _("the {name} sent nothing back at all (it is still running and "
                                   "printed no error)").format(name=servers[0].name), "")


def _stub(observation) -> Diagnosis:
    for p in observation["programs"]:
        said = p.tail + "\n" + procs.read_tail(p.output_path.with_suffix(".stderr"), 4096).decode(
            errors="replace")
        found = re.search(r"(\S+: [^\n]*?) is not implemented yet", said)
        if found:
            return Diagnosis(
                "stub", _("the {name} stopped at a stub: '{stub} is not implemented yet' (it "
                          "{ended})").format(name=p.name, stub=found.group(1), ended=p.exit_text),
                _("Write that function (the lab's README gives the steps), then grade again."))
    return None


SYMPTOMS = (_crash, _stub, _flood, _wrong_port, _exited_after_listening, _reply_printed,
            _child_accepted, _burning, _child_failed, _server_exited, _no_reply)


def diagnose(observation) -> Diagnosis:
    """The first symptom recognised, or None."""
    if not observation or not observation["programs"]:
        return None
    for symptom in SYMPTOMS:
        found = symptom(observation)
        if found is not None:
            return found
    return None


def crash_notes(programs) -> list:
    """One line per crash of the test's programs (for a test that passed
    anyway: a child's death must not stay invisible)."""
    if not programs:
        return []
    observation = {"programs": [], "records": read_records(
        sorted({procs.records_dir(p.log_path.parent) for p in programs}))}
    notes = []
    for crash in observation["records"].crashes:
        single = dict(observation, records=Records(crashes=[crash]))
        single["programs"] = [Seen(p.name, p.pid, p.port, True, None, "", p.tail(3).strip(), 0,
                                   0.0, 0.0, _is_server(p), p.log_path)
                              for p in programs]
        notes.append(_crash(single).text)
    return notes
