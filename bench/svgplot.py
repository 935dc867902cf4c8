"""svgplot.py -- the bench's plot: grouped bar charts in plain SVG.

render(data) turns the JSON that bench.py writes into one SVG image with
six panels: connection-per-request rates, the server CPU time per
connection, persistent round-trip rates, memory with many persistent
clients, and the fork() cost against the parent's memory and against its
number of mappings.  Rates and times span
several orders of magnitude (Python's forking server against epoll), so
their axes are logarithmic; every bar carries its value.
"""

import math
from xml.sax.saxutils import escape

WIDTH = 1100
ROW_HEIGHT = 300
TOP = 78  # title and legend
FOOT = 34  # machine description

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
    def __init__(self):
        self.parts = []

    def text(self, x, y, s, size=11, anchor="start", weight="normal", rotate=False, fill="#222"):
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

    def document(self, width, height):
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif">\n'
                f'<rect width="{width}" height="{height}" fill="white"/>\n')
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


def bar_chart(svg, box, title, ylabel, groups, series, values, log=True, keyed=False):
    """One panel in box (x, y, w, h): a group of bars per entry of groups, one
    bar per (name, color) of series; values[g][s] is a number or None.
    keyed: the panel shows its own legend (series other than the servers)."""
    x, y, w, h = box
    left, right, top, bottom = x + 62, x + w - 10, y + 26, y + h - 42
    svg.text(x + w / 2, y + 14, title, size=13, anchor="middle", weight="bold")
    if keyed:
        for i, (name, color) in enumerate(series):
            svg.rect(left + 10, top + 6 + 16 * i, 10, 10, color)
            svg.text(left + 25, top + 15 + 16 * i, name, size=10)
    svg.text(x + 14, (top + bottom) / 2, ylabel, size=11, anchor="middle", rotate=True)
    axis = Axis([v for row in values for v in row], log, top, bottom)
    for tick in axis.ticks():
        svg.line(left, axis.y(tick), right, axis.y(tick), dash=tick != axis.lo)
        svg.text(left - 6, axis.y(tick) + 4, compact(tick), size=10, anchor="end")
    group_w = (right - left) / max(len(groups), 1)
    bar_w = group_w * 0.82 / max(len(series), 1)
    for g, group in enumerate(groups):
        x0 = left + g * group_w + group_w * 0.09
        for s, (name, color) in enumerate(series):
            value = values[g][s]
            if value is None:
                continue
            bx = x0 + s * bar_w
            top_y = axis.y(value)
            svg.rect(bx + 1, top_y, bar_w - 2, axis.bottom - top_y, color, f"{name}: {value:,.1f}")
            label_x = bx + bar_w / 2
            if bar_w < 30:
                svg.text(label_x + 3, top_y - 3, compact(value), size=9, rotate=True)
            else:
                svg.text(label_x, top_y - 3, compact(value), size=9, anchor="middle")
        svg.text(left + (g + 0.5) * group_w, bottom + 16, group, size=11, anchor="middle")
    svg.line(left, bottom, right, bottom, stroke="#444")


def legend(svg, entries, y):
    x = 20
    for label, color in entries:
        svg.rect(x, y - 10, 12, 12, color)
        svg.text(x + 17, y, label, size=11)
        x += 34 + 6.2 * len(label)


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


def server_panels(svg, data, keys, y):
    servers = data["servers"]
    series = [(servers[k]["label"], COLORS.get(k, "#444")) for k in keys]
    cells = data["config"]["cells"]
    conn = [c for c in cells if c.startswith("conn-")]
    persistent = [c for c in cells if c.startswith("persistent-")]
    wide = WIDTH * 2 / 3
    bar_chart(svg, (0, y, wide, ROW_HEIGHT),
              "Connection per request: connect, send a 64-byte line, read the reply, close",
              "connections / s (log)", [clients(c) for c in conn],
              *drop_empty(series, per_server(data, keys, conn, lambda r: r["ops_per_s"])))
    busiest = conn[-1]
    cpu = per_server(data, keys, [busiest, busiest], lambda r: r.get("cpu_us_per_op"))
    cpu = [[c and c["parent"] for c in cpu[0]], [c and c["children"] for c in cpu[1]]]
    bar_chart(svg, (wide, y, WIDTH - wide, ROW_HEIGHT),
              f"Server CPU per connection ({clients(busiest)})", "microseconds",
              ["parent", "children"], *drop_empty(series, cpu), log=False)
    y += ROW_HEIGHT
    bar_chart(svg, (0, y, WIDTH / 2, ROW_HEIGHT), "Persistent connections: round trips",
              "round trips / s (log)", [clients(c) for c in persistent],
              *drop_empty(series, per_server(data, keys, persistent, lambda r: r["ops_per_s"])))
    last = persistent[-1]
    memory = per_server(data, keys, [last], lambda r: r.get("server", {}).get("pss_mb") or None)
    bar_chart(svg, (WIDTH / 2, y, WIDTH / 2, ROW_HEIGHT),
              f"Memory of all the server's processes, {clients(last)}",
              "MB, proportional set size (log)", [f"{last.split('-')[1]} persistent clients"],
              *drop_empty(series, memory))


def fork_panels(svg, sweep, y):
    if not sweep:
        return
    def ms(row):
        return row["cpu_us"]["total"] / 1000

    memory = [r for r in sweep["memory"] if "problem" not in r]
    huge = {r["touch_mb"]: r for r in sweep["memory_hugepages"] if "problem" not in r}
    values = [[ms(r), ms(huge[r["touch_mb"]]) if r["touch_mb"] in huge else None]
              for r in memory]
    bar_chart(svg, (0, y, WIDTH / 2, ROW_HEIGHT),
              "fork()+_exit()+waitpid() vs the parent's resident memory",
              "ms of CPU per iteration (log)", [f"{r['rss_mb']:.0f} MB" for r in memory],
              *drop_empty([("4 KB pages", FORK_COLORS[0]), ("2 MB (huge) pages", FORK_COLORS[1])],
                          values), keyed=True)
    maps = [r for r in sweep["mappings"] if "problem" not in r]
    bar_chart(svg, (WIDTH / 2, y, WIDTH / 2, ROW_HEIGHT),
              "fork()+_exit()+waitpid() vs the parent's number of mappings",
              "ms of CPU per iteration (log)", [f"{r['mappings']:,} mappings" for r in maps],
              [("one touched 4 KB page per mapping", FORK_COLORS[0])], [[ms(r)] for r in maps],
              keyed=True)


def render(data):
    """The SVG text for the results dict that bench.py writes."""
    svg = Svg()
    keys = [k for k, s in data["servers"].items() if any("ops_per_s" in r for r in
                                                         s["cells"].values())]
    m = data["machine"]
    svg.text(20, 26, "What a process per connection costs: `make bench` (forklab)", size=17,
             weight="bold")
    legend(svg, [(data["servers"][k]["label"], COLORS.get(k, "#444")) for k in keys], 56)
    server_panels(svg, data, keys, TOP)
    fork_panels(svg, data.get("fork_cost"), TOP + 2 * ROW_HEIGHT)
    height = TOP + 3 * ROW_HEIGHT + FOOT
    svg.text(20, height - 12,
             f"{m['nproc']} CPUs ({m['cpu_model']}), Linux {m['kernel']}, {m['os']}, load "
             f"{m.get('loadavg_before', '?')}; {data['config']['duration_s']:g} s per cell; "
             f"{data['date']}; fork: CPU time of parent + child; "
             f"PSS: peak of samples every {data['config']['sample_every_s']} s",
             size=10, fill="#555")
    return svg.document(WIDTH, height)
