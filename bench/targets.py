"""targets.py -- lab04's reference server against the kit's performance
targets: [(target, verdict, detail)], printed by report.py and kept in the
JSON.  A handout has no verdicts (the HIDDEN region below is stripped): there
lab04 is the reference build and the student's is "yours"."""

from .model import CELLS, cell_value, cpu_per_connection


def evaluate_targets(measured):
    """[(target, verdict, detail)] for lab04, or [] without lab04 results."""
    # BEGIN HIDDEN
    if "lab04" in measured and measured["lab04"].cells:
        conn_cells = [c for c in CELLS if c.mode == "conn"]
        return [target_vs_bare_c(measured, conn_cells), target_p99(measured, conn_cells),
                target_cpu(measured, conn_cells), target_vs_python(measured, conn_cells),
                target_persistent(measured)]
    # END HIDDEN
    return []


def verdict(ratio, goal):
    if ratio is None:
        return "not measured"
    if ratio >= goal:
        return "meets"
    return "within noise (10%)" if ratio >= 0.9 * goal else "misses"


def worst_ratio(measured, cells, mine, theirs, what="ops_per_s", invert=False):
    ratios = []
    for cell in cells:
        a, b = cell_value(measured, mine, cell, what), cell_value(measured, theirs, cell, what)
        if a and b:
            ratios.append((cell, b / a if invert else a / b))
    return min(ratios, key=lambda x: x[1]) if ratios else (None, None)


def target_vs_bare_c(measured, cells):
    cell, ratio = worst_ratio(measured, cells, "lab04", "fork_c")
    detail = f"lowest ratio {ratio:.2f}x at {cell.clients} clients" if cell else ""
    return ("connection rate >= bare C fork server (every concurrency)", verdict(ratio, 1.0),
            detail)


def target_p99(measured, cells):
    cell, ratio = worst_ratio(measured, cells, "lab04", "fork_c", "p99_ms", invert=True)
    detail = ""
    if cell:
        detail = (f"worst at {cell.clients} clients: lab04 "
                  f"{cell_value(measured, 'lab04', cell, 'p99_ms'):.2f} ms vs bare C "
                  f"{cell_value(measured, 'fork_c', cell, 'p99_ms'):.2f} ms")
    return ("p99 latency <= bare C fork server (every concurrency)", verdict(ratio, 1.0), detail)


def target_cpu(measured, cells):
    """The load-proof form of the first target: CPU time per connection."""
    title = "server CPU per connection <= bare C fork server (steadiest on a busy machine)"
    pairs = [(c, cpu_per_connection(measured, "lab04", c),
              cpu_per_connection(measured, "fork_c", c)) for c in cells]
    pairs = [(c, mine, theirs) for c, mine, theirs in pairs if mine and theirs]
    if not pairs:
        return (title, "not measured", "")
    cell, mine, theirs = max(pairs, key=lambda p: p[1] / p[2])
    return (title, verdict(theirs / mine, 1.0),
            f"worst at {cell.clients} clients: lab04 {mine:.0f} us vs bare C {theirs:.0f} us")


def target_vs_python(measured, cells):
    cell, ratio = worst_ratio(measured, cells, "lab04", "python_fork")
    detail = f"lowest ratio {ratio:.1f}x at {cell.clients} clients" if cell else ""
    return (">= 5x the connection rate of Python's ForkingTCPServer", verdict(ratio, 5.0), detail)


def target_persistent(measured):
    cell = CELLS[-1]
    r = measured["lab04"].cells.get(cell.key, {})
    if "errors" not in r:
        return (f"{cell.clients} persistent clients, zero errors", "not measured",
                r.get("problem", ""))
    ok = r["errors"] == 0 and r["mismatches"] == 0 and r["ops"] > 0
    return (f"{cell.clients} persistent clients, zero errors", "meets" if ok else "misses",
            f"{r['ops']:,} round trips, {r['errors']} errors, {r['mismatches']} mismatches")
