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

import errno
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


from grader.i18n import _

from . import procs
from .kit import _N

# The reply a server owes to the bytes sent, set by the labs' protocol
# (grader/tests/checks/protocol.py); None: the reply-printed cause is not looked for.
reply_to = None

# Output beyond this is a flood (a line per byte, the data itself...).
FLOOD_BYTES = 8 << 20
# A program that was running or waiting for a CPU (schedstat: what it asked
# of the machine, however busy the machine was) at least BURN_SECONDS, and
# at least BURN_SHARE of its life, was spinning while the test waited.
BURN_SHARE = 0.5
BURN_SECONDS = 1.5

SIGNAL_WORDS = {
    signal.SIGSEGV: _N("segmentation fault: a read or write through a bad pointer (null, freed, "
                       "or past the end of an array)"),
    signal.SIGBUS: _N("bus error: an address that is mapped but has nothing behind it, e.g. a "
                      "file mapping read past the file's end (mmap(2))"),
    signal.SIGFPE: _N("arithmetic error: an integer division by zero, or INT_MIN / -1"),
    signal.SIGABRT: _N("abort: the program stopped itself (a failed assert, an uncaught C++ "
                       "exception, or the C library finding its heap corrupted, e.g. a double "
                       "free)"),
    signal.SIGILL: _N("illegal instruction: often a function that ends without returning the "
                      "value it promised"),
}



# What a student should do about each cause, in the labs' words: the labs'
# graded tests fill this in (grader/tests/checks/cause_hints.py), keyed by
# the Diagnosis key's kind ("crash:SIGSEGV", "flood", "wrong-port", ...;
# "crash" for any other signal).  A cause without one keeps the test's own
# hint.  A lab's own words for a cause (its test module's CAUSE_HINTS) are
# passed to diagnose() and win over these.
hints = {}
# The hints of the diagnosis under way (diagnose() sets them).
_current_hints = {}


def _hint(*kinds: str, **fields) -> str:
    """The advice for the first of `kinds` that has one: the lab's own words
    first (for any of the kinds), then the shared ones."""
    text = (next((_current_hints[k] for k in kinds if k in _current_hints), None)
            or next((hints[k] for k in kinds if k in hints), None))
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
    wanted_cpu: float = 0.0  # seconds running or waiting for a CPU (schedstat)
    # The test itself signalled it to stop (SIGTERM, SIGINT): an exit is
    # what the test asked for, not a symptom.
    stopped_by_test: bool = False
    # Asleep (S) with no child alive when the test failed.
    asleep_alone: bool = False


# Signals a test sends to ask a program to stop.
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT}


def _tree_cpu(pid: int) -> tuple:
    """(CPU seconds, seconds running or waiting for a CPU) of pid and its
    descendants, from schedstat (procs.activity)."""
    cpu = wanted = 0.0
    for member in [pid, *procs.descendant_pids(pid)]:
        now = procs.activity(member)
        if now is not None:
            cpu += now.on_cpu
            wanted += now.on_cpu + now.waiting_for_cpu
    return cpu, wanted


def _port_argument(argv):
    """The port of `server PORT`, None for other command lines."""
    args = [str(a) for a in argv[1:]]
    return int(args[0]) if len(args) == 1 and args[0].isdigit() else None


def _is_server(program) -> bool:
    """A program the test gave a port to listen on: net.start_server's, or
    one run as `PROGRAM PORT`."""
    return program.port is not None or _port_argument(program.argv) is not None


def observe(programs, sent: list, no_reply: bool, stalled: bool = False) -> dict:
    """What the test's programs did, captured before clean-up ends them;
    stalled: a wait of the test ended because nothing moved."""
    now = time.monotonic()
    seen = []
    for p in programs:
        if p.running() and _is_server(p) and _fatal_errno_line(p.tail(5)):
            # It printed a fatal error a moment ago: let it finish dying,
            # or the cause would be missed by a hair.
            p.wait_exit(1)
        running = p.running()
        cpu, wanted = _tree_cpu(p.pid) if running else (0.0, 0.0)
        # No child at all, not even a zombie: none is left to wake it.
        asleep_alone = (running and procs.state_letter(p.pid) == "S"
                        and not procs.child_pids(p.pid))
        seen.append(Seen(p.name, p.pid, p.port or _port_argument(p.argv), running,
                         p.returncode, p.describe_exit(), p.tail(3).strip(), p.output_size(),
                         now - p.started, cpu,
                         _is_server(p), p.log_path, wanted,
                         bool(set(getattr(p, "signals_sent", ())) & STOP_SIGNALS),
                         asleep_alone))
    folders = sorted({procs.records_dir(p.log_path.parent) for p in programs})
    return {"programs": seen, "records": read_records(folders), "sent": list(sent),
            "no_reply": no_reply, "stalled": stalled}


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
    """The first crash recorded, with how many processes died the same way
    (the same signal at the same instruction: a child per client may crash
    thousands of times) and how many otherwise."""
    programs = observation["programs"]
    crashes = observation["records"].crashes
    if not crashes:
        return None
    crash = crashes[0]
    same = sum(c.signo == crash.signo and c.pc == crash.pc for c in crashes)
    try:
        name = signal.Signals(crash.signo).name
    except ValueError:
        name = _("signal {number}").format(number=crash.signo)
    place, where = describe_place(symbolize(crash))
    if _stack_smashed(_owner(crash.pid, crash.ppid, programs)):
        place = _("after a write past the end of an array on the stack (glibc: \"stack "
                  "smashing detected\"), {place}").format(place=place)
    who = _who(crash.pid, crash.ppid, programs)
    words = SIGNAL_WORDS.get(crash.signo, "")
    said = _said(_owner(crash.pid, crash.ppid, programs))
    if words:
        text = _("{who} died of {signal} -- {meaning} -- {place}").format(
            who=who, signal=name, meaning=_(words), place=place)
    else:
        text = _("{who} died of {signal} -- {place}").format(who=who, signal=name, place=place)
    if same > 1:
        text += " " + _("(x{count}: {count} processes died the same way)").format(
            count=f"{same:,}")
    if len(crashes) > same:
        text += " " + _("({count} other crash(es) besides)").format(
            count=f"{len(crashes) - same:,}")
    hint = _hint(f"crash:{name}", "crash", where=where)
    return Diagnosis(f"crash:{name}:{where}", text + said, hint)


def _stack_smashed(program) -> bool:
    """The program's output holds glibc's report of a smashed stack."""
    if program is None:
        return False
    return b"stack smashing detected" in procs.read_tail(program.output_path, 1 << 16)


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
        if not p.is_server or p.running or p.returncode != 0 or p.stopped_by_test:
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
        if p.running and p.wanted_cpu >= BURN_SECONDS and p.wanted_cpu >= BURN_SHARE * p.seconds:
            return Diagnosis(
                "cpu-burn", _("the {name} was running or waiting for a CPU {wanted} s of its "
                              "{seconds} s (it used {cpu} s of CPU) while the test waited for "
                              "it: a loop that never ends or never waits?").format(
                                  name=p.name, wanted=f"{p.wanted_cpu:.1f}",
                                  seconds=f"{p.seconds:.1f}", cpu=f"{p.cpu:.1f}"),
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


# What a server's death by a failed call says, by the errno text it printed
# (perr_exit and perror print "what: strerror(errno)"): the kind of the
# cause, and the words that explain it.
ERRNO_CAUSES = {
    "EINTR": _N("a signal interrupted the call -- SIGCHLD, when a child exits -- and the server "
                "took the interruption for an error"),
    "EBADF": _N("the descriptor was closed already, or never opened: a Close of the wrong one"),
    "ENOTSOCK": _N("the descriptor is no socket: a Close of the wrong one, or a mixed-up variable"),
    "EINVAL": _N("the socket does not listen (any more): a Close of the wrong one, or Listen "
                 "forgotten"),
    "EMFILE": _N("the process ran out of descriptors: every accepted socket it never closed is "
                 "still open"),
    "ENFILE": _N("the machine ran out of descriptors"),
    "ECONNRESET": _N("one client's reset ended the whole server"),
    "EPIPE": _N("one client that left ended the whole server"),
    "EAGAIN": _N("one failed fork() ended the whole server"),
    "ENOMEM": _N("one failed fork() ended the whole server"),
}
# The same causes, the kind of the cause.
ERRNO_KINDS = {"ENOTSOCK": "EBADF", "EINVAL": "EBADF", "ENFILE": "EMFILE", "EPIPE": "ECONNRESET",
               "ENOMEM": "EAGAIN"}
_ERRNO_BY_TEXT = {os.strerror(getattr(errno, name)): name for name in ERRNO_CAUSES}
# "accept: Interrupted system call", "fork failed: Resource temporarily unavailable"
_FAILED_CALL = re.compile(r"^(?P<call>[^:\n]{1,60}): (?P<text>[^:\n]+?)\s*$")


# Calls of a server's own loop: their failure is the server's death.  A
# failed read or write of one connection is a child's business in a forking
# server (it prints the line and ends), and only ends an iterative one.
_LOOP_CALLS = re.compile(r"accept|fork|poll|select|sigsuspend|waitpid|listen", re.IGNORECASE)


def _fatal_errno_line(text: str):
    """(call, errno name, errno text) of the line of `text` that reports the
    failed call a server died of: the last one of its own loop's calls, else
    the last failed call of any kind; None if no line names a known errno."""
    found = []
    for line in text.splitlines()[-40:]:
        match = _FAILED_CALL.match(line.strip())
        name = match and _ERRNO_BY_TEXT.get(match.group("text"))
        if name:
            found.append((match.group("call"), name, match.group("text")))
    own = [f for f in found if _LOOP_CALLS.search(f[0])]
    return (own or found or [None])[-1]


def _died_of_errno(observation) -> Diagnosis:
    """A server that exited with an error after a call failed, the errno's
    text among the last things it printed: the errno names the cause,
    whatever the call and the rest of the line."""
    for p in observation["programs"]:
        if (not p.is_server or p.running or p.returncode is None or p.returncode <= 0
                or p.stopped_by_test):
            continue
        fatal = _fatal_errno_line(procs.read_tail(p.output_path, 8192).decode(errors="replace"))
        if fatal is None:
            continue
        call, name, text = fatal
        kind = ERRNO_KINDS.get(name, name)
        meaning = ERRNO_CAUSES[name]
        return Diagnosis(
            f"errno:{kind}",
            _("the {name} {ended} after `{call}` failed with {errno} ({text}): {meaning}"
              ).format(name=p.name, ended=p.exit_text, call=call, errno=name, text=text,
                       meaning=_(meaning)),
            _hint(f"errno:{kind}"))
    return None


def _server_exited(observation) -> Diagnosis:
    """A server that listened, then ended with an error: one cause for every
    test it fails the same way (the test's own hint stays)."""
    for p in observation["programs"]:
        if (not p.is_server or p.running or p.returncode is None or p.returncode <= 0
                or p.stopped_by_test):
            continue
        ports = {port for pid, _pp, port in observation["records"].listens if pid == p.pid}
        if p.port in ports:
            return Diagnosis(f"server-exit:{p.returncode}",
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


def _asleep_alone(observation) -> Diagnosis:
    """A forking server asleep, with no child left, while the test waited
    for it in vain: it waits for something that will not come."""
    if not (observation["no_reply"] or observation.get("stalled")):
        return None
    for p in observation["programs"]:
        if p.is_server and p.asleep_alone:
            return Diagnosis(
                "asleep-alone", _("the {name} was asleep with no child left while clients "
                                  "waited for it: it waits for something that will not come "
                                  "-- a child's exit it already had?").format(name=p.name)
                + _said(p), _hint("asleep-alone"))
    return None


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


# The symptoms, in the order they are looked for, each with its kind: a lab
# declares the kinds its tests can show (its test module's CAUSES).
SYMPTOMS = (("crash", _crash), ("stub", _stub), ("flood", _flood), ("wrong-port", _wrong_port),
            ("exited-after-listening", _exited_after_listening),
            ("reply-printed", _reply_printed), ("child-accepted", _child_accepted),
            ("cpu-burn", _burning), ("child-exit", _child_failed), ("errno", _died_of_errno),
            ("server-exit", _server_exited), ("asleep-alone", _asleep_alone),
            ("no-reply", _no_reply))
KINDS = tuple(kind for kind, _symptom in SYMPTOMS)
# Kinds a lab must ask for (its CAUSES): an iterative server, or one serving
# its clients itself, is asleep with no child for good reasons.
OPT_IN_KINDS = ("asleep-alone",)


def diagnose(observation, causes=None, lab_hints=None) -> Diagnosis:
    """The first symptom recognised, among the kinds of `causes` (None:
    all), or None; lab_hints: the lab's own advice by kind."""
    global _current_hints
    if not observation or not observation["programs"]:
        return None
    _current_hints = dict(lab_hints or {})
    if causes is None:
        causes = [kind for kind in KINDS if kind not in OPT_IN_KINDS]
    try:
        for kind, symptom in SYMPTOMS:
            if kind not in causes:
                continue
            found = symptom(observation)
            if found is not None:
                return found
    finally:
        _current_hints = {}
    return None


def crashes_during(programs, causes=None, lab_hints=None) -> Diagnosis:
    """The crash of any of a test's programs (or of a process they started),
    for a test whose own checks passed: a crash fails the test all the same.
    None when none crashed, or the lab does not look for crashes."""
    global _current_hints
    if not programs or (causes is not None and "crash" not in causes):
        return None
    records = read_records(sorted({procs.records_dir(p.log_path.parent) for p in programs}))
    if not records.crashes:
        return None
    seen = [Seen(p.name, p.pid, p.port, p.running(), p.returncode, p.describe_exit(),
                 p.tail(3).strip(), 0, 0.0, 0.0, _is_server(p), p.log_path)
            for p in programs]
    _current_hints = dict(lab_hints or {})
    try:
        return _crash({"programs": seen, "records": records})
    finally:
        _current_hints = {}
