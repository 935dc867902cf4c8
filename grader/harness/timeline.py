"""What a server did during a graded test, over time: its children alive, its
zombies, its open descriptors, and the clients' connects and closes.

A background thread samples each server a test starts (net.start_server
calls watch()) ten times a second, from /proc only: the server's
/proc/PID/task/*/children, each child's state and /proc/PID/fd; and, as
often as SAMPLE_SHARE of one core allows, the loopback connections to the
server's port in /proc/net/tcp.  The tests never wait for it and it never
touches the server, so the tests' timing stays theirs.  At the end of the test the conftest fixture
writes the timeline as an SVG next to the test's log:
grade-logs/LAB/TEST.svg.

Clients are seen at sample times, so a connection that opens and closes
between two samples is not marked; the children and descriptor counts are
exact at each sample.
"""

import os
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

INTERVAL = 0.1  # seconds between samples, at least
SAMPLE_SHARE = 0.05  # of one core's time, at most, spent sampling (its CPU time)

# /proc/net/tcp states (include/net/tcp_states.h)
ESTABLISHED, SYN_SENT, CLOSE_WAIT = "01", "02", "08"
OPEN_STATES = {ESTABLISHED, SYN_SENT, CLOSE_WAIT}


@dataclass
class Sample:
    t: float
    alive: int
    zombies: int
    fds: int


@dataclass
class Trace:
    """What one watched server did: samples, client events, its end."""
    name: str
    pid: int
    port: int
    samples: list = field(default_factory=list)
    connects: list = field(default_factory=list)  # times, seconds since the start
    closes: list = field(default_factory=list)
    ended: float = None  # when the server was seen gone, if it was


# ---------------------------------------------------------------- reading /proc

def _state_of(pid) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1][1]
    except (OSError, IndexError):
        return ""


def _fd_count(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


try:  # as a module of the harness; run as a file (drawing only), /proc/net/tcp
    from . import sockdiag
    from .process_tree import child_pids
except ImportError:
    sockdiag = child_pids = None

try:  # the grader's language; run as a file, English
    from grader.i18n import _
except ImportError:
    def _(message: str) -> str:
        return message


def client_sockets(port: int) -> dict:
    """{client port: state} of the TCP sockets connected to `port` from
    another port, but those in TIME_WAIT: the clients' ends of the server's
    connections.  From sock_diag (harness/sockdiag.py), which leaves out the
    thousands of TIME_WAIT sockets a grading makes; else from /proc/net/tcp,
    where a regular expression picks the lines."""
    if sockdiag is not None:
        wanted = [state for state in range(sockdiag.ESTABLISHED, sockdiag.CLOSING + 1)
                  if state not in (sockdiag.TIME_WAIT, sockdiag.LISTEN)]
        return {s.local_port: f"{s.state:02X}" for s in sockdiag.tcp_sockets(*wanted)
                if s.remote_port == port and s.local_port != port}
    try:
        with open("/proc/net/tcp", "rb") as f:
            table = f.read()
    except OSError:
        return {}
    line = re.compile(rb"^ *\d+: [0-9A-F]{8}:([0-9A-F]{4}) 0100007F:%04X ([0-9A-F]{2}) " % port,
                      re.MULTILINE)
    return {int(local, 16): state.decode() for local, state in line.findall(table)}


# ------------------------------------------------------------------- sampling

class Sampler(threading.Thread):
    def __init__(self, program, started: float):
        super().__init__(name=f"timeline-{program.pid}", daemon=True)
        self.trace = Trace(program.name, program.pid, program.port or 0)
        self.started = started
        self.stopping = threading.Event()
        self.clients = {}  # client port -> last state seen

    def run(self) -> None:
        next_scan = 0.0
        while True:
            gone = self.sample()
            if gone or self.stopping.is_set():
                if self.trace.port:  # the closes since the last scan
                    self.clients_seen(self.trace.samples[-1].t, client_sockets(self.trace.port))
                return
            # The clients' table costs far more than the processes (the
            # kernel lists every TCP socket of the machine): it is read
            # only as often as SAMPLE_SHARE of one core allows.
            if self.trace.port and time.monotonic() >= next_scan:
                began = time.thread_time()
                self.clients_seen(self.trace.samples[-1].t, client_sockets(self.trace.port))
                took = time.thread_time() - began
                next_scan = time.monotonic() + max(INTERVAL, took / SAMPLE_SHARE)
            self.stopping.wait(INTERVAL)

    def sample(self) -> bool:
        """One sample of the processes; True once the server is gone."""
        pid, trace = self.trace.pid, self.trace
        t = time.monotonic() - self.started
        if _state_of(pid) in ("", "Z", "X"):
            trace.ended = t
            trace.samples.append(Sample(t, 0, 0, 0))
            return True
        states = [_state_of(child) for child in child_pids(pid)]
        zombies = sum(s == "Z" for s in states)
        alive = sum(s not in ("", "Z", "X") for s in states)
        trace.samples.append(Sample(t, alive, zombies, _fd_count(pid)))
        return False

    def clients_seen(self, t: float, now: dict) -> None:
        for port, state in now.items():
            before = self.clients.get(port)
            if state in OPEN_STATES and before is None:
                self.trace.connects.append(t)
            elif state not in OPEN_STATES and before in OPEN_STATES:
                self.trace.closes.append(t)
        for port, before in self.clients.items():
            if port not in now and before in OPEN_STATES:
                self.trace.closes.append(t)  # reset, or closed and gone between samples
        self.clients = {p: s for p, s in now.items() if s in OPEN_STATES or p in self.clients}

    def stop(self) -> Trace:
        self.stopping.set()
        self.join()
        return self.trace


class Recording:
    """The servers one test started, each with its sampler."""

    def __init__(self):
        self.started = time.monotonic()
        self.samplers = []

    def watch(self, program) -> None:
        sampler = Sampler(program, self.started)
        self.samplers.append(sampler)
        sampler.start()

    def stop(self) -> list:
        return [sampler.stop() for sampler in self.samplers]


_current = None


def begin() -> Recording:
    """Start recording the servers of a test (the conftest fixture)."""
    global _current
    _current = Recording()
    return _current


def watch(program) -> None:
    """Sample a server the current test started (net.start_server)."""
    if _current is not None:
        _current.watch(program)


def finish(recording: Recording, path: Path, title: str) -> Path:
    """Stop the samplers; write the SVG if the test started a server."""
    global _current
    if _current is recording:
        _current = None
    traces = recording.stop()
    if not traces or path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg(traces, title))
    return path


# ------------------------------------------------------------------ drawing

WIDTH = 760
LEFT, RIGHT = 56, 20
PANEL = 110  # height of the processes plot; the descriptors plot is half as high
EVENTS = 22  # the strip of client connects (up) and closes (down)
COLOURS = {"alive": "#2b6cb0", "zombies": "#c53030", "fds": "#4a5568",
           "connect": "#2f855a", "close": "#744210"}


def _nice_max(value: int) -> int:
    for top in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if value <= top:
            return top
    return value


def _steps(points, x, y) -> str:
    """An SVG path of a step function through (t, value) points."""
    if not points:
        return ""
    parts = [f"M{x(points[0][0]):.1f},{y(points[0][1]):.1f}"]
    for (_t0, v0), (t1, v1) in zip(points, points[1:]):
        parts.append(f"H{x(t1):.1f}")
        if v1 != v0:
            parts.append(f"V{y(v1):.1f}")
    return "".join(parts)


def _panel(trace: Trace, top: float, span: float) -> tuple:
    """The SVG elements of one server's plots, and their height."""
    plot_w = WIDTH - LEFT - RIGHT

    def x(t):
        return LEFT + plot_w * min(t, span) / span

    out = []
    samples = trace.samples
    peak = max((s.alive + s.zombies for s in samples), default=0)
    procs_max = _nice_max(max(peak, 1))
    fds_max = _nice_max(max((s.fds for s in samples), default=1))
    last = samples[-1] if samples else None
    worst = max(samples, key=lambda s: s.zombies, default=None)
    fields = dict(name=trace.name, pid=trace.pid, port=trace.port, samples=len(samples),
                  children=peak, zombies=worst.zombies if worst else 0)
    if trace.ended is None:
        summary = _("{name} (pid {pid}, port {port}): {samples} samples, at most {children} "
                    "children, at most {zombies} zombies").format(**fields)
    else:
        summary = _("{name} (pid {pid}, port {port}): {samples} samples, at most {children} "
                    "children, at most {zombies} zombies; the server ended at {ended} s"
                    ).format(ended=f"{trace.ended:.1f}", **fields)
    out.append(f'<text x="{LEFT}" y="{top + 12}" class="h">{escape(summary)}</text>')

    # Processes: alive (line) and zombies (filled), same scale.
    y0 = top + 20

    def yp(v):
        return y0 + PANEL - PANEL * v / procs_max

    out.append(f'<rect x="{LEFT}" y="{y0}" width="{plot_w}" height="{PANEL}" class="frame"/>')
    for v in (0, procs_max // 2, procs_max):
        out.append(f'<text x="{LEFT - 6}" y="{yp(v) + 4:.1f}" class="ax" text-anchor="end">'
                   f'{v}</text>')
    zombies = [(s.t, s.zombies) for s in samples]
    if any(v for _t, v in zombies):
        area = _steps(zombies, x, yp)
        out.append(f'<path d="{area}V{yp(0):.1f}H{x(zombies[0][0]):.1f}Z" '
                   f'fill="{COLOURS["zombies"]}" fill-opacity="0.35" stroke="{COLOURS["zombies"]}" '
                   f'stroke-width="1.5" class="zombies"/>')
    alive = [(s.t, s.alive) for s in samples]
    out.append(f'<path d="{_steps(alive, x, yp)}" fill="none" stroke="{COLOURS["alive"]}" '
               f'stroke-width="2" class="alive"/>')
    out.append(f'<text x="{LEFT - 44}" y="{y0 + PANEL / 2:.0f}" class="ax" '
               f'transform="rotate(-90 {LEFT - 44} {y0 + PANEL / 2:.0f})" text-anchor="middle">'
               f'{escape(_("children"))}</text>')

    # Descriptors.
    y1 = y0 + PANEL + 16
    fd_h = PANEL / 2

    def yf(v):
        return y1 + fd_h - fd_h * v / fds_max

    out.append(f'<rect x="{LEFT}" y="{y1}" width="{plot_w}" height="{fd_h}" class="frame"/>')
    for v in (0, fds_max):
        out.append(f'<text x="{LEFT - 6}" y="{yf(v) + 4:.1f}" class="ax" text-anchor="end">'
                   f'{v}</text>')
    live = [(s.t, s.fds) for s in samples if s.fds or trace.ended is None or s.t < trace.ended]
    out.append(f'<path d="{_steps(live, x, yf)}" fill="none" stroke="{COLOURS["fds"]}" '
               f'stroke-width="1.5" class="fds"/>')
    out.append(f'<text x="{LEFT - 44}" y="{y1 + fd_h / 2:.0f}" class="ax" '
               f'transform="rotate(-90 {LEFT - 44} {y1 + fd_h / 2:.0f})" text-anchor="middle">'
               f'{escape(_("fds"))}</text>')

    # Client events, binned per 3 pixels: connects up, closes down.
    y2 = y1 + fd_h + 6 + EVENTS / 2
    out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y2}" y2="{y2}" class="frame"/>')
    for times, sign, colour, cls in ((trace.connects, -1, COLOURS["connect"], "connect"),
                                     (trace.closes, 1, COLOURS["close"], "close")):
        bins = {}
        for t in times:
            bins[int(x(t) // 3)] = bins.get(int(x(t) // 3), 0) + 1
        top_count = max(bins.values(), default=1)
        for b, count in sorted(bins.items()):
            h = 3 + (EVENTS / 2 - 3) * (count - 1) / max(top_count - 1, 1)
            y = y2 - h if sign < 0 else y2
            if cls == "connect":
                label = _("{count} client connects") if count > 1 else _("{count} client connect")
            else:
                label = _("{count} client closes") if count > 1 else _("{count} client close")
            out.append(f'<rect x="{b * 3}" y="{y:.1f}" width="2" height="{h:.1f}" '
                       f'fill="{colour}" class="{cls}"><title>'
                       f'{escape(label.format(count=count))}</title></rect>')
    out.append(f'<text x="{LEFT - 6}" y="{y2 + 4}" class="ax" text-anchor="end">'
               f'{escape(_("clients"))}</text>')
    if last is not None and (last.zombies or trace.ended is None):
        state = _("last sample ({seconds} s): {alive} alive, {zombies} zombies, {fds} fds").format(
            seconds=f"{last.t:.1f}", alive=last.alive, zombies=last.zombies, fds=last.fds)
        out.append(f'<text x="{WIDTH - RIGHT - 4}" y="{y0 + 12}" class="ax" text-anchor="end">'
                   f'{escape(state)}</text>')
    return out, y2 + EVENTS / 2 + 6 - top


def _columns(text: str) -> int:
    """How many character widths text takes: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def svg(traces: list, title: str) -> str:
    """One self-contained SVG: a panel per server the test started."""
    span = max((s.t for tr in traces for s in tr.samples), default=1.0)
    span = max(span, 0.5)
    body, y = [], 30
    for trace in traces:
        parts, height = _panel(trace, y, span)
        body += parts
        y += height + 10
    plot_w = WIDTH - LEFT - RIGHT
    for i in range(6):
        tick = _("{seconds} s").format(seconds=f"{span * i / 5:.1f}")
        body.append(f'<text x="{LEFT + plot_w * i / 5:.1f}" y="{y + 4}" class="ax" '
                    f'text-anchor="middle">{escape(tick)}</text>')
    legend_y = y + 22
    legend = [("alive", _("children alive")), ("zombies", _("zombies")),
              ("fds", _("open descriptors")), ("connect", _("clients connecting (up)")),
              ("close", _("clients closing (down)"))]
    lx = LEFT
    for key, label in legend:
        body.append(f'<rect x="{lx}" y="{legend_y - 9}" width="12" height="10" '
                    f'fill="{COLOURS[key]}"/><text x="{lx + 16}" y="{legend_y}" class="ax">'
                    f'{escape(label)}</text>')
        lx += 30 + 6.2 * _columns(label)
    height = legend_y + 10
    desc = _("; ").join(
        _("{name}: peak {zombies} zombies, {connects} connects, {closes} closes").format(
            name=tr.name, zombies=max((s.zombies for s in tr.samples), default=0),
            connects=len(tr.connects), closes=len(tr.closes)) for tr in traces)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" font-family="sans-serif">\n'
            f'<title>{escape(title)}</title>\n<desc>{escape(desc)}</desc>\n'
            '<style>.h{font-size:12px;fill:#1a202c}.ax{font-size:10px;fill:#4a5568}'
            '.frame{fill:none;stroke:#cbd5e0}.t{font-size:14px;font-weight:bold}</style>\n'
            f'<rect width="100%" height="100%" fill="white"/>\n'
            f'<text x="{LEFT}" y="18" class="t">{escape(title)}</text>\n'
            + "\n".join(body) + "\n</svg>\n")


def side_by_side(svgs: list, title: str) -> str:
    """One SVG holding timelines (svg() texts) next to each other, as a
    lecture shows lab03's and lab04's (slides/diagrams/timeline-lab03-lab04.svg)."""
    parts, x, height = [], 0, 0
    for text in svgs:
        width = float(re.search(r'<svg [^>]*width="([\d.]+)"', text).group(1))
        height = max(height, float(re.search(r'<svg [^>]*height="([\d.]+)"', text).group(1)))
        parts.append(text.replace("<svg ", f'<svg x="{x:.0f}" ', 1))
        x += width + 20
    width = x - 20
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}">\n<title>{escape(title)}</title>\n'
            + "".join(parts) + "</svg>\n")


if __name__ == "__main__":
    # tools/python grader/harness/timeline.py TITLE OUT.svg A.svg B.svg: A and B side by side.
    import sys
    asked = sys.argv[1:2] in (["-h"], ["--help"])
    if asked or len(sys.argv) < 4:
        print("usage: timeline.py TITLE OUT.svg A.svg [B.svg ...]: the timelines side by side",
              file=sys.stdout if asked else sys.stderr)
        sys.exit(0 if asked else 2)
    title, out, *inputs = sys.argv[1:]
    Path(out).write_text(side_by_side([Path(p).read_text() for p in inputs], title))
