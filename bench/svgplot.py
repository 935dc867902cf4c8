"""svgplot.py -- the bench's chart: grouped bar charts in plain SVG, the one
drawing of the bench's results in the kit.

render(data) turns the JSON that bench.py writes into one SVG image with
six panels: connection-per-request rates, the server CPU time per
connection, persistent round-trip rates, memory per client with many
persistent clients, and the fork() cost against the parent's memory and
against its number of mappings.  Rates and times span several orders of
magnitude (Python's forking server against epoll), so their axes are
logarithmic; every bar carries its value.

figure(data, NAME) draws one of those panels alone, larger, for a slide
(the decks' @figure NAME, through slides/tools/figures.mjs):

    svgplot.py results/NAME.json                  the whole chart, to stdout
    svgplot.py --figure conn-rate results/NAME.json   one panel, to stdout

Exit status 3 when the results hold no data for the figure, 2 on bad input.
"""

import json
import math
import sys
from dataclasses import dataclass
from xml.sax.saxutils import escape

SCHEMA = "forklab-bench/1"
WIDTH = 1100
ROW_HEIGHT = 300
TOP = 78  # title and legend
FOOT = 34  # machine description

# A panel alone (figure()): drawn in a narrower picture with larger type,
# for a slide that shows it 1150 pixels wide.
FIGURE_WIDTH = 820
FIGURE_SCALE = 1.4

COLORS = {
    "lab04": "#d62728", "yours": "#9467bd", "fork_c": "#1f77b4", "fork_c_static": "#9ecae1",
    "python_fork": "#ff7f0e", "lab02": "#7f7f7f", "epoll": "#2ca02c",
}
FORK_COLORS = ("#6a51a3", "#bcbddc")


def compact(value):
    """1234567 -> '1.2M', 14321 -> '14k', 65.3 -> '65', 0.71 -> '0.71'."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= limit:
            scaled = value / limit
            return f"{scaled:.0f}{suffix}" if scaled >= 10 else f"{scaled:.1f}{suffix}"
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.2g}"


class Svg:
    """An SVG picture; scale multiplies every type size (and the margins that
    make room for the type, in bar_chart)."""

    def __init__(self, scale=1.0):
        self.parts = []
        self.scale = scale

    def text(self, x, y, s, size=11, anchor="start", weight="normal", rotate=False, fill="#222"):
        size = round(size * self.scale, 1)
        transform = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" '
                          f'text-anchor="{anchor}" font-weight="{weight}" fill="{fill}"'
                          f'{transform}>{escape(str(s))}</text>')

    def rect(self, x, y, w, h, fill, title=None):
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" '
                          f'height="{max(h, 0):.1f}" fill="{fill}">{tip}</rect>')

    def line(self, x1, y1, x2, y2, stroke="#ccc", dash=False):
        style = ' stroke-dasharray="3,3"' if dash else ""
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                          f'stroke="{stroke}" stroke-width="1"{style}/>')

    def document(self, width, height, title=None):
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif">\n'
                + (f'<title>{escape(title)}</title>\n' if title else "")
                + f'<rect width="{width}" height="{height}" fill="white"/>\n')
        return head + "\n".join(self.parts) + "\n</svg>\n"


class Axis:
    """Maps values to a vertical pixel range, on a log or a linear scale."""

    def __init__(self, values, log, top, bottom):
        positive = [v for v in values if v and v > 0] or [1.0]
        self.log, self.top, self.bottom = log, top, bottom
        if log:
            # A decade of room below the smallest bar, so that it shows.
            self.lo = 10 ** math.floor(math.log10(min(positive)) - 0.3)
            self.hi = 10 ** math.ceil(math.log10(max(positive) * 1.15))
        else:
            self.lo, self.hi = 0.0, nice_ceiling(max(positive) * 1.1)

    def y(self, value):
        if self.log:
            value = max(value, self.lo)
            frac = (math.log10(value) - math.log10(self.lo)) / (
                math.log10(self.hi) - math.log10(self.lo))
        else:
            frac = (value - self.lo) / (self.hi - self.lo)
        return self.bottom - frac * (self.bottom - self.top)

    def ticks(self):
        if self.log:
            decades = round(math.log10(self.hi / self.lo))
            return [self.lo * 10 ** i for i in range(decades + 1)]
        step = self.hi / 5
        return [step * i for i in range(6)]


def nice_ceiling(value):
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is >= value."""
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


@dataclass
class Panel:
    """One bar chart: a group of bars per entry of groups, one bar per
    (name, color) of series; values[g][s] is a number or None."""
    title: str
    ylabel: str
    groups: list
    series: list
    values: list
    log: bool = True
    keyed: bool = False  # its series are not the servers: it shows its own legend


def bar_chart(svg, box, panel, titled=True):
    """Draw panel in box (x, y, w, h), with its title and the legend of a
    keyed panel, unless titled=False (a slide's heading names it, and
    figure() draws the legend above it)."""
    x, y, w, h = box
    f = svg.scale
    left, right = x + 62 * f, x + w - 10
    top, bottom = y + (26 if titled else 8) * f, y + h - 42 * f
    if titled:
        svg.text(x + w / 2, y + 14 * f, panel.title, size=13, anchor="middle", weight="bold")
    if panel.keyed and titled:
        for i, (name, color) in enumerate(panel.series):
            svg.rect(left + 10 * f, top + (6 + 16 * i) * f, 10 * f, 10 * f, color)
            svg.text(left + 25 * f, top + (15 + 16 * i) * f, name, size=10)
    svg.text(x + 14 * f, (top + bottom) / 2, panel.ylabel, size=11, anchor="middle", rotate=True)
    axis = Axis([v for row in panel.values for v in row], panel.log, top, bottom)
    for tick in axis.ticks():
        svg.line(left, axis.y(tick), right, axis.y(tick), dash=tick != axis.lo)
        svg.text(left - 6 * f, axis.y(tick) + 4 * f, compact(tick), size=10, anchor="end")
    group_w = (right - left) / max(len(panel.groups), 1)
    bar_w = group_w * 0.82 / max(len(panel.series), 1)
    for g, group in enumerate(panel.groups):
        x0 = left + g * group_w + group_w * 0.09
        for s, (name, color) in enumerate(panel.series):
            value = panel.values[g][s]
            if value is None:
                continue
            bx = x0 + s * bar_w
            top_y = axis.y(value)
            svg.rect(bx + 1, top_y, bar_w - 2, axis.bottom - top_y, color, f"{name}: {value:,.1f}")
            label_x = bx + bar_w / 2
            if bar_w < 30 * f:
                svg.text(label_x + 3 * f, top_y - 3, compact(value), size=9, rotate=True)
            else:
                svg.text(label_x, top_y - 3, compact(value), size=9, anchor="middle")
        svg.text(left + (g + 0.5) * group_w, bottom + 16 * f, group, size=11, anchor="middle")
    svg.line(left, bottom, right, bottom, stroke="#444")


def legend(svg, entries, y, x=20, right=WIDTH):
    """A row of colour keys at baseline y, wrapped before `right`; returns the
    baseline of its last row."""
    f, start = svg.scale, x
    for label, color in entries:
        width = (34 + 6.2 * len(label)) * f
        if x > start and x + width - 20 * f > right:
            x, y = start, y + 18 * f
        svg.rect(x, y - 10 * f, 12 * f, 12 * f, color)
        svg.text(x + 17 * f, y, label, size=11)
        x += width
    return y


def clients(cell):
    n = cell.split("-")[1]
    return f"{n} client" if n == "1" else f"{n} clients"


def drop_empty(series, values):
    """Leave out the series that have no value in any group."""
    keep = [s for s in range(len(series)) if any(row[s] is not None for row in values)]
    return [series[s] for s in keep], [[row[s] for s in keep] for row in values]


def per_server(data, keys, cells, pick):
    """values[cell][server] = pick(result of that server in that cell) or None."""
    rows = []
    for cell in cells:
        row = []
        for key in keys:
            r = data["servers"][key]["cells"].get(cell, {})
            row.append(pick(r) if r.get("ops") else None)
        rows.append(row)
    return rows


def measured_keys(data):
    """The servers with at least one measured rate, in the file's order."""
    return [k for k, s in data["servers"].items()
            if any("ops_per_s" in r for r in s["cells"].values())]


def server_series(data, keys):
    return [(data["servers"][k]["label"], COLORS.get(k, "#444")) for k in keys]


def cells_of(data, mode):
    return [c for c in data["config"]["cells"] if c.startswith(f"{mode}-")]


def server_panel(data, title, ylabel, groups, values, log=True):
    """A panel with a bar per server, or None when no server has a value."""
    series, values = drop_empty(server_series(data, measured_keys(data)), values)
    if not series:
        return None
    return Panel(title, ylabel, groups, series, values, log)


def conn_rate(data):
    conn = cells_of(data, "conn")
    return server_panel(
        data, "Connection per request: connect, send a 64-byte line, read the reply, close",
        "connections / s (log)", [clients(c) for c in conn],
        per_server(data, measured_keys(data), conn, lambda r: r["ops_per_s"]))


def cpu_per_connection(data):
    conn = cells_of(data, "conn")
    if not conn:
        return None
    busiest = conn[-1]
    cpu = per_server(data, measured_keys(data), [busiest, busiest],
                     lambda r: r.get("cpu_us_per_op"))
    cpu = [[c and c["parent"] for c in cpu[0]], [c and c["children"] for c in cpu[1]]]
    return server_panel(data, f"Server CPU per connection ({clients(busiest)})", "microseconds",
                        ["parent", "children"], cpu, log=False)


def round_trips(data):
    persistent = cells_of(data, "persistent")
    return server_panel(data, "Persistent connections: round trips", "round trips / s (log)",
                        [clients(c) for c in persistent],
                        per_server(data, measured_keys(data), persistent,
                                   lambda r: r["ops_per_s"]))


def memory_per_client(data):
    """PSS of the server and all its processes, divided by the clients."""
    persistent = cells_of(data, "persistent")
    if not persistent:
        return None
    last = persistent[-1]
    n = int(last.split("-")[1])
    memory = per_server(data, measured_keys(data), [last],
                        lambda r: (r.get("server", {}).get("pss_mb") or 0) * 1024 / n or None)
    return server_panel(data, f"Memory per client: PSS of all the server's processes / {n}",
                        "KB per client (log)", [f"{clients(last)} connected"], memory)


def fork_rows(data, part):
    return [r for r in (data.get("fork_cost") or {}).get(part, []) if "problem" not in r]


def fork_ms(row):
    return row["cpu_us"]["total"] / 1000


def fork_memory(data):
    memory = fork_rows(data, "memory")
    if not memory:
        return None
    huge = {r["touch_mb"]: r for r in fork_rows(data, "memory_hugepages")}
    values = [[fork_ms(r), fork_ms(huge[r["touch_mb"]]) if r["touch_mb"] in huge else None]
              for r in memory]
    series, values = drop_empty([("4 KB pages", FORK_COLORS[0]),
                                 ("2 MB (huge) pages", FORK_COLORS[1])], values)
    return Panel("fork()+_exit()+waitpid() vs the parent's resident memory",
                 "ms of CPU (log)", [f"{r['rss_mb']:.0f} MB" for r in memory],
                 series, values, keyed=True)


def fork_mappings(data):
    maps = fork_rows(data, "mappings")
    if len(maps) < 2:
        return None
    return Panel("fork()+_exit()+waitpid() vs the parent's number of mappings",
                 "ms of CPU (log)", [f"{r['mappings']:,} mappings" for r in maps],
                 [("one touched 4 KB page per mapping", FORK_COLORS[0])],
                 [[fork_ms(r)] for r in maps], keyed=True)


# The chart's panels, by row: (panel, share of the width).
LAYOUT = (((conn_rate, 2 / 3), (cpu_per_connection, 1 / 3)),
          ((round_trips, 1 / 2), (memory_per_client, 1 / 2)),
          ((fork_memory, 1 / 2), (fork_mappings, 1 / 2)))

# The panels a slide shows alone (slides/decks: @figure NAME), and the
# height of each picture, FIGURE_WIDTH wide.
FIGURES = {"conn-rate": (conn_rate, 380), "child-memory": (memory_per_client, 240),
           "fork-cost": (fork_memory, 250), "fork-mappings": (fork_mappings, 250)}


def machine_line(data):
    m = data["machine"]
    return f"{m['nproc']} CPUs ({m['cpu_model']}), Linux {m['kernel']}"


def render(data):
    """The SVG text of the whole chart for the results dict that bench.py writes."""
    svg = Svg()
    svg.text(20, 26, "What a process per connection costs: `make bench` (forklab)", size=17,
             weight="bold")
    keys = measured_keys(data)
    legend(svg, server_series(data, keys), 56)
    y = TOP
    for row in LAYOUT:
        x = 0
        for draw, share in row:
            panel = draw(data)
            if panel is not None:
                bar_chart(svg, (x, y, WIDTH * share, ROW_HEIGHT), panel)
            x += WIDTH * share
        y += ROW_HEIGHT
    height = TOP + len(LAYOUT) * ROW_HEIGHT + FOOT
    svg.text(20, height - 12,
             f"{machine_line(data)}, {data['machine']['os']}, load "
             f"{data['machine'].get('loadavg_before', '?')}; {data['config']['duration_s']:g} s "
             f"per cell; {data['date']}; fork: CPU time of parent + child; "
             f"PSS: peak of samples every {data['config']['sample_every_s']} s",
             size=10, fill="#555")
    return svg.document(WIDTH, height)


def figure(data, name):
    """The SVG text of one panel alone, for a slide, or None when the results
    hold no data for it.  No title is drawn (the slide's heading names it):
    it is the picture's <title>, the slide's alt text."""
    draw, height = FIGURES[name]
    panel = draw(data)
    if panel is None:
        return None
    svg = Svg(FIGURE_SCALE)
    f = svg.scale
    # The colours' key above the panel: servers by their short names.
    short = {s["label"]: s.get("short") or s["label"] for s in data["servers"].values()}
    last = legend(svg, [(short.get(name, name), color) for name, color in panel.series],
                  18 * f, x=10, right=FIGURE_WIDTH - 10)
    top = last + 8 * f
    m = data["machine"]
    footer = (f"measured by make bench on {data['date'][:10]}: {machine_line(data)}, load "
              f"average {m.get('loadavg_before', '?')}")
    bar_chart(svg, (0, top, FIGURE_WIDTH, height - top - 16 * f), panel, titled=False)
    svg.text(10, height - 5 * f, footer, size=8, fill="#555")
    return svg.document(FIGURE_WIDTH, height, title=panel.title)


class BadInput(Exception):
    pass


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise BadInput(f"{path}: {e.strerror}") from e
    except ValueError as e:
        raise BadInput(f"{path} is not valid JSON: {e}") from e
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise BadInput(f"{path} has schema {json.dumps(schema)}, expected {json.dumps(SCHEMA)}")
    return data


def main(argv):
    usage = "usage: svgplot.py [--figure NAME] RESULTS.json"
    if argv in (["-h"], ["--help"]):
        print(usage)
        return 0
    if len(argv) == 3 and argv[0] == "--figure":
        name, path = argv[1], argv[2]
        if name not in FIGURES:
            print(f"svgplot: unknown figure {name} ({', '.join(FIGURES)})", file=sys.stderr)
            return 2
    elif len(argv) == 1 and not argv[0].startswith("-"):
        name, path = None, argv[0]
    else:
        print(usage, file=sys.stderr)
        return 2
    try:
        data = load(path)
        svg = render(data) if name is None else figure(data, name)
    except BadInput as e:
        print(f"svgplot: {e}", file=sys.stderr)
        return 2
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
        print(f"svgplot: {path}: not a complete results file of bench.py ({e!r})",
              file=sys.stderr)
        return 2
    if svg is None:
        print(f"svgplot: {path} has no data for figure {name}", file=sys.stderr)
        return 3
    sys.stdout.write(svg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
