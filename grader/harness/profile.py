"""Where a grading's time goes: `grader/grade --profile FILE`.

Each graded test (its set-up and clean-up included) and the work around the
tests (copying the kit, the sandbox's probe) is one row.  A row splits the
row's wall time into kinds of work:

- compiling: the builds of the submission and of the kit's own objects;
- starting: starting programs (bubblewrap, the sandbox's set-up, exec);
- python: the grader's main thread computing (its own CPU time);
- waiting: the rest -- the grader blocked on a student program, a socket, a
  deadline or a poll's interval.

and counts CPU time three ways: the grader's own process (every thread: the
timeline's sampler and the watchdog included), the compilers, and the
programs it ran (student programs and bubblewrap, counted once reaped).

The phases are measured where they happen (phase()); nothing samples, so
profiling costs a few clock reads per phase.  Off unless --profile is given.
"""

import json
import resource
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

KINDS = ("compiling", "starting", "python", "waiting")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Row:
    lab: str
    title: str
    wall: float = 0.0
    compiling: float = 0.0
    starting: float = 0.0
    python: float = 0.0
    waiting: float = 0.0
    grader_cpu: float = 0.0
    compiler_cpu: float = 0.0
    programs_cpu: float = 0.0
    programs_started: int = 0


@dataclass
class _Open:
    row: Row
    wall: float
    thread_cpu: float
    self_cpu: float
    children_cpu: float
    # Per kind of phase: wall, main-thread CPU and children's CPU inside it.
    phases: dict = field(default_factory=dict)


class Profile:
    def __init__(self):
        self.enabled = False
        self.rows = []
        self._open = None
        self._depth = 0
        self._main = threading.main_thread()

    # ----------------------------------------------------------- recording

    def begin(self, lab: str, title: str) -> None:
        if not self.enabled:
            return
        self._open = _Open(Row(lab, title), time.monotonic(), time.thread_time(), _self_cpu(),
                           _children_cpu())

    def end(self) -> None:
        opened, self._open = self._open, None
        if opened is None:
            return
        row = opened.row
        row.wall = time.monotonic() - opened.wall
        thread_cpu = time.thread_time() - opened.thread_cpu
        children = _children_cpu() - opened.children_cpu
        row.grader_cpu = _self_cpu() - opened.self_cpu
        compiling = opened.phases.get("compiling", (0.0, 0.0, 0.0))
        starting = opened.phases.get("starting", (0.0, 0.0, 0.0))
        row.compiling, row.starting = compiling[0], starting[0]
        row.compiler_cpu = compiling[2]
        row.programs_cpu = max(0.0, children - compiling[2])
        row.python = max(0.0, thread_cpu - compiling[1] - starting[1])
        row.waiting = max(0.0, row.wall - row.compiling - row.starting - row.python)
        self.rows.append(row)

    @contextmanager
    def phase(self, kind: str):
        """Count the block's time as `kind` (compiling, starting) in the open
        row; a phase inside another counts as the outer one."""
        opened = self._open
        if opened is None or self._depth or threading.current_thread() is not self._main:
            yield
            return
        self._depth += 1
        wall, cpu, children = time.monotonic(), time.thread_time(), _children_cpu()
        try:
            yield
        finally:
            self._depth -= 1
            if kind == "starting":
                opened.row.programs_started += 1
            before = opened.phases.get(kind, (0.0, 0.0, 0.0))
            opened.phases[kind] = (before[0] + time.monotonic() - wall,
                                   before[1] + time.thread_time() - cpu,
                                   before[2] + _children_cpu() - children)

    # ------------------------------------------------------------ reporting

    def totals(self, rows=None) -> Row:
        rows = self.rows if rows is None else rows
        total = Row("", "total")
        for row in rows:
            for name in ("wall", *KINDS, "grader_cpu", "compiler_cpu", "programs_cpu",
                         "programs_started"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return total

    def per_lab(self) -> list:
        labs = list(dict.fromkeys(row.lab for row in self.rows))
        result = []
        for lab in labs:
            total = self.totals([row for row in self.rows if row.lab == lab])
            total.lab, total.title = lab, ""
            result.append(total)
        return result

    def as_json(self, wall: float) -> dict:
        return {"wall": round(wall, 3), "total": asdict(self.totals()),
                "labs": [asdict(row) for row in self.per_lab()],
                "tests": [asdict(row) for row in self.rows]}

    def table(self, wall: float, slowest: int = 15) -> str:
        """The profile as Markdown: per kind, per lab, the slowest tests."""
        total = self.totals()
        cpu = total.grader_cpu + total.compiler_cpu + total.programs_cpu
        head = ("| | wall s | compiling | starting | python | waiting | grader CPU | "
                "compiler CPU | programs CPU | programs |\n|---|---:|---:|---:|---:|---:|---:|"
                "---:|---:|---:|")

        def line(name, row):
            return (f"| {name} | {row.wall:.2f} | {row.compiling:.2f} | {row.starting:.2f} | "
                    f"{row.python:.2f} | {row.waiting:.2f} | {row.grader_cpu:.2f} | "
                    f"{row.compiler_cpu:.2f} | {row.programs_cpu:.2f} | "
                    f"{row.programs_started} |")

        lines = [f"grading: {wall:.1f} s of wall time, {cpu:.1f} s of CPU "
                 f"(grader {total.grader_cpu:.1f}, compilers {total.compiler_cpu:.1f}, "
                 f"programs {total.programs_cpu:.1f})", "", head]
        lines += [line(row.lab or "(around the tests)", row) for row in self.per_lab()]
        lines += [line("**all**", total), "", f"the {slowest} slowest tests:", "", head]
        for row in sorted(self.rows, key=lambda r: r.wall, reverse=True)[:slowest]:
            lines.append(line(f"{row.lab}: {row.title}", row))
        return "\n".join(lines) + "\n"

    def write(self, path, wall: float) -> None:
        path.write_text(json.dumps(self.as_json(wall), indent=1) + "\n")


# The grading run's profile (one per process).
current = Profile()
phase = current.phase
