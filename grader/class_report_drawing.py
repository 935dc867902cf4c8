"""The drawing of the class report (class_report.py): its inline CSS, its
one small script (sorting a table by a click on a column's heading), the SVG
of a lab's score distribution (histogram) and of a failure rate (bar), and
the small HTML helpers (markdown_code, percent).
"""

import re
from html import escape


def histogram(scores: list, top: int, lab: str) -> str:
    """An inline SVG bar chart of a lab's scores (0..top)."""
    width, height, left, bottom = 360, 140, 28, 22
    bins = min(top + 1, 11) if top > 0 else 1
    counts = [0] * bins
    for score in scores:
        counts[min(int(score * bins / (top + 1)) if top else 0, bins - 1)] += 1
    peak = max(counts + [1])
    bar_w = (width - left - 4) / bins
    parts = [f'<svg class="hist" width="{width}" height="{height}" role="img" '
             f'aria-label="score distribution of {escape(lab)}">']
    for i, count in enumerate(counts):
        lo = i * (top + 1) // bins
        hi = (i + 1) * (top + 1) // bins - 1
        h = (height - bottom - 10) * count / peak
        x = left + i * bar_w
        label = f"{lo}" if lo == hi else f"{lo}-{hi}"
        parts.append(f'<rect x="{x + 1:.1f}" y="{height - bottom - h:.1f}" width="{bar_w - 2:.1f}" '
                     f'height="{h:.1f}" class="bar" data-bin="{label}" data-count="{count}">'
                     f'<title>{count} student{"s" if count != 1 else ""} with {label} points'
                     f'</title></rect>')
        if count:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom - h - 2:.1f}" '
                         f'class="n">{count}</text>')
        if bins <= 6 or i % 2 == 0 or i == bins - 1:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 8}" class="n">{label}</text>')
    parts.append(f'<line x1="{left}" x2="{width - 4}" y1="{height - bottom}" '
                 f'y2="{height - bottom}" stroke="#718096"/></svg>')
    return "".join(parts)


def markdown_code(text: str) -> str:
    """HTML of a catalogue title: escaped, `code` in <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def bar(share: float) -> str:
    return (f'<svg width="120" height="12" class="rate"><rect width="120" height="12" '
            f'fill="#edf2f7"/><rect width="{120 * share:.1f}" height="12" fill="#c53030"/></svg>')


CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:76em;color:#1a202c;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:2px solid #e2e8f0;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;max-width:100%}td,th{border:1px solid #e2e8f0;
padding:.25em .5em;vertical-align:top;text-align:left;overflow-wrap:anywhere}
th{background:#f7fafc;overflow-wrap:normal}td.num{text-align:right;white-space:nowrap}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:after{content:" \\2195";
color:#a0aec0}table.sortable th[aria-sort=ascending]:after{content:" \\25b2";color:#1a202c}
table.sortable th[aria-sort=descending]:after{content:" \\25bc";color:#1a202c}
#student-table,#cause-table,#test-table{width:100%}
.hist .bar{fill:#2b6cb0}.hist .n{font-size:10px;text-anchor:middle;fill:#4a5568}
.labs{display:flex;flex-wrap:wrap;gap:1.5em}.status-timeout,.status-error{color:#c53030}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7fafc;padding:.5em;
margin:.3em 0;font-size:.85em;max-height:14em;overflow-y:auto;overflow-x:hidden}
details{margin:.2em 0}.muted{color:#718096}summary{cursor:pointer}
.pair td{font-size:.9em}code{font-size:.9em;overflow-wrap:anywhere}
tr[data-low="1"] td:first-child,td[data-low="1"]{background:#fff5f5;color:#9b2c2c}
.low-mark{color:#c53030;font-weight:bold}.not-started{color:#718096;font-style:italic}
td.not-started{background:#f7fafc}.hint{font-size:.9em;color:#4a5568}
.legend{background:#f7fafc;border:1px solid #e2e8f0;padding:.5em .8em;font-size:.95em}
"""

# Sorting the tables of class "sortable" by a click on a column's heading:
# by each cell's data-sort if it has one, else its text; numbers as numbers.
SCRIPT = """
(function () {
  function key(cell) {
    var v = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    var n = Number(v);
    return v.trim() !== "" && !isNaN(n) ? [0, n] : [1, v.trim().toLowerCase()];
  }
  function sort(table, column, th) {
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    var up = th.getAttribute("aria-sort") !== "ascending";
    rows = rows.map(function (row, i) { return [key(row.cells[column]), i, row]; });
    rows.sort(function (a, b) {
      var x = a[0], y = b[0];
      var c = x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0);
      return (up ? c : -c) || a[1] - b[1];
    });
    Array.prototype.forEach.call(th.parentNode.cells, function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    rows.forEach(function (r) { body.appendChild(r[2]); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.tabIndex = 0;
      th.title = "sort by this column";
      th.addEventListener("click", function () { sort(table, column, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(table, column, th); }
      });
    });
  });
})();
"""


def percent(share: float) -> str:
    return f"{100 * share:.0f} %"
