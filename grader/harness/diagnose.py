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
import time
from dataclasses import dataclass
from pathlib import Path


from grader.i18n import _

from . import procs
from .kit import _N
# The crash reporter's records and a crash's place (crash_records.py), and the
# errno cause table (errno_causes.py): their names are importable from here too.
from .crash_records import (  # noqa: F401
    Crash, Records, bound_ports, describe_place, listened_ports, read_records, symbolize)
from .errno_causes import ERRNO_CAUSES, ERRNO_KINDS, _fatal_errno_line  # noqa: F401

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
