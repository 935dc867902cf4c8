"""measure.py -- measuring: the load generator against every running
server, cell by cell and round by round; the fork() cost sweep; the overload
case.  Prints a progress line per result; the tables are report.py's."""

import json
import subprocess
import threading
import time
from pathlib import Path

import psutil

from grader.harness import procs, timing

from .model import CELLS, LOGS, OP_TIMEOUT, OVERLOAD, OVERLOAD_SAMPLING, REQUEST_SIZE, Measured
from .sampling import Sampler, children_of, cpu_seconds, idle_description
from .servers import RunningServer, ServerDidNotStart, check_binary, log_tail, overload_specs


def run_loadgen(loadgen, port, cell, duration, extra=(), timeout=OP_TIMEOUT, abort=None):
    """Run loadgen for one cell; its JSON report, or {"problem": ...}.  It is
    killed when abort (a threading.Event) is set, or when it overruns."""
    out = LOGS / f"loadgen-{port}-{cell.key}.json"
    out.unlink(missing_ok=True)
    argv = [str(loadgen), "--mode", cell.mode, "--clients", str(cell.clients),
            "--size", str(REQUEST_SIZE), "--timeout", str(timeout), "--json", str(out),
            "--quiet", *extra, f"127.0.0.1:{port}"]
    if not any(a in ("--count", "--duration") for a in extra):
        argv[1:1] = ["--duration", str(duration)]
    # Worst case: every client's connect, then every reply, waits a full deadline.
    limit = duration + 3 * timeout + cell.clients * 0.05 + 10
    try:
        with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) as proc:
            problem = wait_or_kill(proc, limit, abort)
            stderr = proc.stderr.read().decode(errors="replace").strip()
        if problem:
            return {"problem": problem}
        if proc.returncode not in (0, 1) or not out.exists():
            return {"problem": f"loadgen exited with {proc.returncode}: {stderr}"}
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)  # the report lives on in results/NAME.json


def wait_or_kill(proc, limit, abort):
    """Wait for proc; kill it after limit seconds or once abort is set.
    Returns why it was killed, or ""."""
    deadline = time.monotonic() + limit
    while True:
        try:
            proc.wait(timeout=0.1)
            return ""
        except subprocess.TimeoutExpired:
            pass
        if abort is not None and abort.is_set():
            why = "aborted"
        elif time.monotonic() > deadline:
            why = f"loadgen did not finish within {limit:.0f} s"
        else:
            continue
        proc.kill()
        proc.wait()
        return why


def start_servers(specs):
    """{key: Measured} for every spec, and {key: RunningServer} for those that
    started.  They all run at once, idle but for the one under load."""
    measured, running = {}, {}
    for spec in specs:
        measured[spec.key] = m = Measured(spec)
        m.problem = check_binary(spec)
        if m.problem:
            print(f"  {spec.short:<14} left out: {m.problem}", flush=True)
            continue
        try:
            running[spec.key] = RunningServer.start(spec)
        except ServerDidNotStart as e:
            m.problem = f"did not start: {e}"
            print(f"  {spec.short:<14} left out: {m.problem}", flush=True)
            continue
        m.started = True
        m.idle = idle_description(running[spec.key].pid)
    return measured, running


def run_matrix(measured, running, loadgen, args):
    """Every cell against every running server.  A cell is split in rounds,
    and the servers take turns, in reverse order every other round: a burst
    of other work on the machine then falls on all of them alike."""
    for cell in CELLS:
        rounds = {key: [] for key in running}
        for i in range(args.rounds):
            order = list(running) if i % 2 == 0 else list(reversed(running))
            for key in order:
                if applies(measured[key], cell) and running[key].running():
                    result = measure_once(running[key], loadgen, cell,
                                          args.duration / args.rounds)
                    rounds[key].append(result)
                    if "zombies" in result.get("problem", ""):
                        give_up(measured[key], running[key], cell, result["problem"])
        for key in running:
            record_cell(measured[key], running[key], cell, rounds[key])


def give_up(m, server, cell, problem):
    """Stop a server that endangers the machine (and reap its zombies)."""
    m.problem = f"{problem}, in {cell.key}"
    server.stop()
    print(f"  {m.spec.short:<14} {m.problem}", flush=True)


def applies(m, cell):
    return not m.problem and not (cell.mode == "persistent" and m.spec.model == "iterative")


def record_cell(m, server, cell, rounds):
    if cell.mode == "persistent" and m.spec.model == "iterative":
        m.cells[cell.key] = {"skipped": "serves one connection at a time"}
        return
    if rounds:
        m.cells[cell.key] = combine(rounds)
        print_progress(m.spec, cell, m.cells[cell.key])
    if not server.running() and not m.problem and not server.stopped:
        m.problem = (f"exited with status {server.returncode} during {cell.key}: "
                     f"{log_tail(server.log_path)}")
        print(f"  {m.spec.short:<14} {m.problem}", flush=True)


def measure_once(server, loadgen, cell, duration, sampling=()):
    """One loadgen run against server, with its processes and memory sampled
    (sampling: Sampler's count_every and pss_every, if not the defaults) and
    the CPU time it spent, parent and children apart."""
    before = cpu_seconds(server.pid)
    abort = threading.Event()
    sampler = Sampler(server.pid, abort, *sampling)
    sampler.start()
    try:
        result = run_loadgen(loadgen, server.port, cell, duration, abort=abort)
    finally:
        peak = sampler.result()
    if sampler.runaway:
        return {"problem": sampler.runaway, "server": peak}
    # A child's CPU time reaches its parent's account when it is reaped: wait
    # (3 s at most: a server may never reap) until the last children are gone.
    timing.wait_until(lambda: not children_of(server.pid), 3.0, interval=0.02)
    after = cpu_seconds(server.pid)
    result["server"] = peak
    result["cpu_s"] = {k: after[k] - before[k] for k in before}
    return result


def combine(rounds):
    """One result from the rounds of a cell: operations and errors add up, the
    rate is over the total time, latency percentiles are the mean of the
    rounds' (max: the largest), samples keep their peaks."""
    good = [r for r in rounds if "problem" not in r]
    if not good:
        return {"problem": rounds[-1]["problem"], "server": rounds[-1]["server"]}
    total = {k: sum(r[k] for r in good) for k in ("ops", "errors", "mismatches", "connections")}
    elapsed = sum(r["elapsed_s"] for r in good)
    counted = sum(r["ops_per_s"] * r["elapsed_s"] for r in good)
    latency = {q: sum(r["latency_us"][q] for r in good) / len(good)
               for q in ("p50", "p90", "p99", "mean")}
    latency["max"] = max(r["latency_us"]["max"] for r in good)
    kinds = {}
    for r in good:
        for what, n in r["error_kinds"].items():
            kinds[what] = kinds.get(what, 0) + n
    peak = {k: max(r["server"][k] for r in rounds) for k in ("processes", "zombies", "pss_mb")}
    peak["samples"] = sum(r["server"]["samples"] for r in rounds)
    cpu = {k: sum(r["cpu_s"][k] for r in good) for k in ("parent", "children")}
    per_op = max(total["connections"] if good[0]["mode"] == "conn" else total["ops"], 1)
    return {**total, "rounds": len(good), "elapsed_s": elapsed, "cpu_s": cpu,
            "cpu_us_per_op": {k: v * 1e6 / per_op for k, v in cpu.items()},
            "ops_per_s": counted / elapsed if elapsed else 0.0,
            "setup_s": max(r["setup_s"] for r in good), "latency_us": latency,
            "error_kinds": kinds, "server": peak,
            "problem_rounds": [r["problem"] for r in rounds if "problem" in r],
            "by_round": [{k: r[k] for k in ("ops_per_s", "latency_us", "errors", "cpu_s")}
                         for r in good]}


def print_progress(spec, cell, r):
    what = f"  {spec.short:<14} {cell.mode:<10} {cell.clients:>3} clients"
    if "problem" in r:
        print(f"{what}  {r['problem']}", flush=True)
        return
    failures = ""
    if r["errors"] or r["mismatches"]:
        failures = f"  errors {r['errors']}  mismatches {r['mismatches']}"
    print(f"{what} {r['ops_per_s']:>10,.0f}/s  p99 {r['latency_us']['p99'] / 1000:7.2f} ms  "
          f"{r['server']['processes']:>4} procs {r['server']['pss_mb']:7.1f} MB PSS{failures}",
          flush=True)


def run_forkcost(forkcost, touch_mb=0, mappings=0, hugepages=False):
    argv = [str(forkcost), "--touch-mb", str(touch_mb), "--mappings", str(mappings),
            "--max-seconds", "1"]
    if hugepages:
        argv.append("--hugepages")
    finished = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    if finished.returncode != 0:
        return {"touch_mb": touch_mb, "extra_mappings": mappings, "hugepages": hugepages,
                "problem": finished.stderr.decode(errors="replace").strip()}
    return json.loads(finished.stdout)


def fork_cost_sweep(forkcost):
    """forkcost against the parent's resident memory and number of mappings."""
    available_mb = psutil.virtual_memory().available / 2**20
    sizes = [mb for mb in (0, 10, 100, 1000) if mb * 3 < available_mb]
    max_maps = int(Path("/proc/sys/vm/max_map_count").read_text()) - 1000
    counts = [n for n in (1000, 10000, 50000) if n < max_maps]
    memory = [run_forkcost(forkcost, touch_mb=mb) for mb in sizes]
    huge = [run_forkcost(forkcost, touch_mb=mb, hugepages=True) for mb in sizes if mb >= 100]
    # With transparent huge pages off, the kernel grants none: nothing to show.
    huge = [row for row in huge if row.get("anon_huge_mb", 0) > 0]
    maps = [memory[0]] + [run_forkcost(forkcost, mappings=n) for n in counts]
    for row in memory + huge + maps[1:]:
        print_forkcost_row(row)
    return {"memory": memory, "memory_hugepages": huge, "mappings": maps}


def print_forkcost_row(row):
    if "problem" in row:
        print(f"  forkcost {row['touch_mb']} MB {row['extra_mappings']} mappings: "
              f"{row['problem']}", flush=True)
        return
    pages = "2 MB pages" if row["hugepages"] else "4 KB pages"
    print(f"  fork+_exit+waitpid  parent {row['rss_mb']:7.1f} MB RSS ({pages}), "
          f"{row['mappings']:>6} mappings: {row['cpu_us']['total'] / 1000:7.3f} ms of CPU",
          flush=True)


def run_overload(args, loadgen):
    """The overload cell against each server of overload_specs, in rounds
    that alternate the order as run_matrix does.  {key: result}: loadgen's
    combined report with the server's peaks, or {"problem": ...}."""
    print(f"overload: {OVERLOAD.clients} clients at once, a connection per request",
          flush=True)
    measured, running = start_servers(overload_specs(args))
    results = {}
    try:
        rounds = {key: [] for key in running}
        for i in range(args.rounds):
            order = list(running) if i % 2 == 0 else list(reversed(running))
            for key in order:
                if running[key].running():
                    rounds[key].append(measure_once(running[key], loadgen, OVERLOAD,
                                                    args.duration / args.rounds,
                                                    OVERLOAD_SAMPLING))
        for key, m in measured.items():
            if m.problem or not rounds.get(key):
                results[key] = {"problem": m.problem or "not measured"}
                continue
            results[key] = combine(rounds[key])
            print_progress(m.spec, OVERLOAD, results[key])
    finally:
        for server in running.values():
            server.stop()
    return {key: {"short": measured[key].spec.short, "label": measured[key].spec.label,
                  "program": " ".join(measured[key].spec.argv), **results[key]}
            for key in measured}
