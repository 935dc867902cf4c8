"""report.py -- the tables the bench prints, and what the numbers say in
sentences (lessons), from the results of measure.py or of a saved file."""

from .model import CELLS, SAMPLE_EVERY, OVERLOAD, cell_value, cpu_per_connection


def base_key(measured):
    """The server the ratios are taken against: lab04, else yours, else bare C."""
    for key in ("lab04", "yours", "fork_c"):
        if key in measured and measured[key].cells:
            return key
    return None


def format_cell(value, base, ratio=True):
    if value is None:
        return "-"
    text = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
    if ratio and base:
        text += f" {value / base:.2f}x"
    return text


def print_matrix(title, measured, cells, what, ratio):
    keys = list(measured)
    base = base_key(measured)
    width = 14
    print(f"\n{title}")
    print("  " + f"{'clients':<8}" + "".join(f"{measured[k].spec.short:>{width}}" for k in keys))
    for cell in cells:
        base_value = cell_value(measured, base, cell, what) if base else None
        row = "".join(
            f"{format_cell(cell_value(measured, k, cell, what), base_value, ratio):>{width}}"
            for k in keys)
        print(f"  {cell.clients:<8}{row}")


def print_failures(measured):
    lines = []
    for m in measured.values():
        if m.problem:
            lines.append(f"  {m.spec.label}: {m.problem}")
        for key, r in m.cells.items():
            if r.get("problem") and r["problem"] in m.problem:
                continue
            if r.get("problem"):
                lines.append(f"  {m.spec.label} {key}: {r['problem']}")
            elif r.get("errors") or r.get("mismatches"):
                kinds = ", ".join(f"{n} x {what}" for what, n in r["error_kinds"].items())
                lines.append(f"  {m.spec.label} {key}: {r['errors']} errors, "
                             f"{r['mismatches']} mismatches {kinds}")
            for problem in r.get("problem_rounds", []):
                lines.append(f"  {m.spec.label} {key}: {problem}")
    print("\nerrors and wrong replies")
    print("\n".join(lines) if lines else "  none")


def print_latency(measured, cells):
    """p50/p99 latency of each server: the median is the cost of one
    connection, the 99th percentile what waiting for a CPU adds to it."""
    keys = list(measured)
    print("\nconnection per request: latency p50/p99, ms")
    print("  " + f"{'clients':<8}" + "".join(f"{measured[k].spec.short:>14}" for k in keys))
    for cell in cells:
        row = ""
        for key in keys:
            r = measured[key].cells.get(cell.key, {})
            text = "-"
            if r.get("ops"):
                text = f"{r['latency_us']['p50'] / 1000:.2g}/{r['latency_us']['p99'] / 1000:.3g}"
            row += f"{text:>14}"
        print(f"  {cell.clients:<8}{row}")


def print_cpu(title, measured, cells):
    """CPU time the server spent per operation: parent + children, in us."""
    keys = list(measured)
    print(f"\n{title}")
    print("  " + f"{'clients':<8}" + "".join(f"{measured[k].spec.short:>14}" for k in keys))
    for cell in cells:
        row = ""
        for key in keys:
            r = measured[key].cells.get(cell.key, {})
            cpu = r.get("cpu_us_per_op")
            text = "-"
            if cpu and r.get("ops"):
                text = (f"{cpu['parent']:.0f}+{cpu['children']:.0f}" if cpu["children"] >= 0.5
                        else f"{cpu['parent']:.1f}")
            row += f"{text:>14}"
        print(f"  {cell.clients:<8}{row}")


def print_memory(measured):
    cell = CELLS[-1]
    print(f"\nmemory with {cell.clients} persistent clients (peak of samples every "
          f"{SAMPLE_EVERY} s), and the parent at rest")
    print(f"  {'server':<28}{'processes':>10}{'PSS MB':>9}{'KB/client':>10}"
          f"{'parent RSS MB':>15}{'mappings':>10}")
    for m in measured.values():
        r = m.cells.get(cell.key, {})
        peak = r.get("server") if "server" in r else None
        idle = m.idle
        per_client = peak["pss_mb"] * 1024 / cell.clients if peak else None
        print(f"  {m.spec.short:<28}"
              f"{peak['processes'] if peak else '-':>10}"
              f"{format_cell(peak['pss_mb'] if peak else None, None, False):>9}"
              f"{format_cell(per_client, None, False):>10}"
              f"{format_cell(idle.get('rss_mb'), None, False):>15}"
              f"{idle.get('mappings', '-'):>10}")


def print_fork_costs(sweep):
    print("\nfork()+_exit()+waitpid() in a parent of this size (forkcost): CPU time per "
          "iteration,\nparent + child, and elapsed times (medians; they grow on a busy machine)")
    print(f"  {'resident MB':>12}{'mappings':>10}{'pages':>7}{'CPU ms':>9}{'elapsed ms':>12}"
          f"{'fork() alone ms':>17}")
    rows = sweep["memory"] + sweep["memory_hugepages"] + sweep["mappings"][1:]
    for r in rows:
        if "problem" in r:
            print(f"  {r['touch_mb']:>12}{r['extra_mappings']:>10}  {r['problem']}")
            continue
        print(f"  {r['rss_mb']:>12.1f}{r['mappings']:>10}{'2 MB' if r['hugepages'] else '4 KB':>7}"
              f"{r['cpu_us']['total'] / 1000:>9.3f}{r['round_trip_us']['p50'] / 1000:>12.3f}"
              f"{r['fork_us']['p50'] / 1000:>17.3f}")


def extra_cpu_per(rows, unit, second):
    """(rows[0], rows[second], fork CPU us per `unit` more), or None if either
    row is missing or failed."""
    if len(rows) <= second or "problem" in rows[0] or "problem" in rows[second]:
        return None
    a, b = rows[0], rows[second]
    return a, b, (b["cpu_us"]["total"] - a["cpu_us"]["total"]) / (b[unit] - a[unit])


def lessons(measured, sweep):
    """The measured answers to the course note's concerns, one sentence each."""
    out = []
    busiest = [c for c in CELLS if c.mode == "conn"][-1]
    sweep = sweep or {"memory": [], "memory_hugepages": [], "mappings": []}  # --no-forkcost
    if slope := extra_cpu_per(sweep["memory"], "rss_mb", 2):
        small, big, per_mb = slope
        out.append(f"fork+_exit+waitpid costs {small['cpu_us']['total'] / 1000:.2f} ms of CPU in "
                   f"a {small['rss_mb']:.0f} MB parent, {big['cpu_us']['total'] / 1000:.2f} ms "
                   f"in a {big['rss_mb']:.0f} MB one: about {per_mb:.0f} us more per resident MB")
    huge = [r for r in sweep["memory_hugepages"] if r.get("touch_mb") == 1000]
    small_pages = [r for r in sweep["memory"] if r.get("touch_mb") == 1000 and "cpu_us" in r]
    if huge and small_pages:
        out.append(f"with 1 GB resident: {small_pages[0]['cpu_us']['total'] / 1000:.1f} ms in "
                   f"4 KB pages, {huge[0]['cpu_us']['total'] / 1000:.2f} ms in 2 MB pages "
                   f"(512 times fewer page-table entries to copy)")
    if slope := extra_cpu_per(sweep["mappings"], "mappings", 1):
        base, more, per_map = slope
        out.append(f"each extra mapping (one touched page) adds about {per_map:.1f} us of CPU "
                   f"to a fork ({base['mappings']} -> {more['mappings']} mappings: "
                   f"{base['cpu_us']['total'] / 1000:.2f} -> "
                   f"{more['cpu_us']['total'] / 1000:.2f} ms)")
    for a, b in (("fork_c_static", "fork_c"), ("lab04", "fork_c"), ("python_fork", "lab04"),
                 ("lab04", "epoll")):
        ca, cb = cpu_per_connection(measured, a, busiest), cpu_per_connection(measured, b, busiest)
        if ca and cb:
            out.append(f"{measured[a].spec.short} ({measured[a].idle.get('mappings')} mappings) "
                       f"spends {ca:.0f} us of CPU per connection, {measured[b].spec.short} "
                       f"({measured[b].idle.get('mappings')} mappings) {cb:.0f} us: {ca / cb:.2f}x")
    last = CELLS[-1]
    for key in ("lab04", "python_fork", "epoll"):
        r = measured[key].cells.get(last.key, {}) if key in measured else {}
        if r.get("ops"):
            procs = r["server"]["processes"]
            out.append(f"{measured[key].spec.short} holds {last.clients} connections in "
                       f"{procs} process{'es' if procs != 1 else ''} and "
                       f"{r['server']['pss_mb']:.1f} MB "
                       f"(PSS): {r['server']['pss_mb'] * 1024 / last.clients:.0f} KB per client")
    return out


def print_lessons(found):
    if found:
        print("\nwhat the numbers say")
        for sentence in found:
            print(f"  - {sentence}")


def print_targets(targets):
    if not targets:
        return
    print("\nlab04 against the kit's performance targets")
    for target, result, detail in targets:
        print(f"  {result:<19} {target}{': ' + detail if detail else ''}")


def report(measured, sweep, targets):
    base = base_key(measured)
    ratio_to = f" (ratio to {measured[base].spec.short})" if base else ""
    conn = [c for c in CELLS if c.mode == "conn"]
    persistent = [c for c in CELLS if c.mode == "persistent"]
    print_matrix(f"connection per request: connections/s{ratio_to}", measured, conn,
                 "ops_per_s", True)
    print_latency(measured, conn)
    print_cpu("server CPU time per connection, us (parent + children)", measured, conn)
    print_matrix(f"persistent connections: round trips/s{ratio_to}", measured, persistent,
                 "ops_per_s", True)
    print_cpu("server CPU time per round trip, us (parent + children)", measured, persistent)
    print_failures(measured)
    print_memory(measured)
    if sweep:
        print_fork_costs(sweep)
    print_lessons(lessons(measured, sweep))
    print_targets(targets)


def print_overload(overload):
    """The overload case's table (results.overload_json): what a cap on the
    children buys."""
    m = overload["machine"]
    print(f"\noverload: {OVERLOAD.clients} clients at once, a connection per request "
          f"({overload['command']} on {overload['date']}, load average "
          f"{m['loadavg_before']} then {m['loadavg_after']} on {m['nproc']} CPUs)")
    print(f"  {'':<16} {'peak children':>13} {'peak PSS':>9} {'conn/s':>8} {'p50 ms':>7} "
          f"{'p90 ms':>7} {'p99 ms':>7} {'errors':>6}")
    for row in overload["servers"].values():
        if "problem" in row and "latency_us" not in row:
            print(f"  {row['short']:<16} {row['problem']}")
            continue
        lat = row["latency_us"]
        print(f"  {row['short']:<16} {row['server']['processes'] - 1:>13} "
              f"{row['server']['pss_mb']:>6.1f} MB {row['ops_per_s']:>8,.0f} "
              f"{lat['p50'] / 1000:>7.1f} {lat['p90'] / 1000:>7.1f} {lat['p99'] / 1000:>7.1f} "
              f"{row['errors'] + row['mismatches']:>6}")
