"""bench.py -- `make bench`: what a process per connection costs, measured.

    bench.py [--duration S] [--server PATH] [--save-as NAME] [--smoke] ...

The seed warns that a forking server's processes are bounded by memory and
cost scheduling time, but shows no number.  This driver measures them on the
machine it runs on, with the kit's load generator (loadgen) against, side by
side: lab04's forking server, lab02's iterative server, a bare C forking
server (dynamically and statically linked), Python's ForkingTCPServer, and an
epoll server that never forks -- and, with --server, a program of your own.
It also times fork() itself (forkcost) against the parent's memory size and
number of mappings.

It prints tables (rates as ratios to lab04), writes results/NAME.json and
results/NAME.svg, and stops everything it started, also on Ctrl-C: each
server runs in its own session and is killed as a process group, and the
driver is a child subreaper, so that no orphan escapes it.

--smoke runs the short check `make test` uses instead of the comparison.
"""

import argparse
import ctypes
import datetime
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

import svgplot

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LOGS = RESULTS / "logs"

REQUEST_SIZE = 64  # bytes per request line, as short as the seed's MAXLINE lines
OP_TIMEOUT = 5.0  # loadgen's deadline for every connect and every reply
SAMPLE_EVERY = 0.5  # seconds between samples of a server's memory (PSS)
COUNT_EVERY = 0.25  # seconds between counts of its processes and zombies
ZOMBIE_LIMIT = 1000  # stop the load on a server that leaves more zombies than this


@dataclass(frozen=True)
class Cell:
    mode: str  # "conn" or "persistent"
    clients: int

    @property
    def key(self):
        return f"{self.mode}-{self.clients}"


CELLS = (Cell("conn", 1), Cell("conn", 8), Cell("conn", 64),
         Cell("persistent", 8), Cell("persistent", 300))

# The overload case (`make bench` only, not the smoke test): 200 clients at
# once, a connection per request, against lab06's server with a cap on its
# children, lab04's without one, and Python's ForkingTCPServer with the same
# cap (its max_children).  What the cap buys: peak children and memory.
OVERLOAD = Cell("conn", 200)
OVERLOAD_CAP = 16
# Children of a connection per request live for milliseconds: count them
# often, and read the PSS whenever their number reaches a new peak, or the
# peak is missed.
OVERLOAD_SAMPLING = (0.02, 0.2, True)


@dataclass
class ServerSpec:
    key: str
    short: str  # for the tables
    label: str  # for the plot
    argv: list  # the port is appended
    model: str  # "fork", "iterative" or "event"
    note: str = ""


@dataclass
class Measured:
    """What one server gave in one run of the bench."""
    spec: ServerSpec
    started: bool = False
    problem: str = ""  # why it is missing or incomplete
    idle: dict = field(default_factory=dict)  # the server at rest: mappings, RSS, PSS
    cells: dict = field(default_factory=dict)  # cell key -> loadgen JSON + samples


class Stop(Exception):
    """SIGTERM or SIGHUP arrived: clean up as for Ctrl-C."""


# ---------------------------------------------------------------- processes

def become_subreaper():
    """Make orphaned descendants our children (PR_SET_CHILD_SUBREAPER), so that
    a server's child that outlives its parent is still ours to kill and reap."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass  # not Linux: process groups still catch the servers' children


def free_port():
    """A TCP port on 127.0.0.1 that nothing uses right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tcp_connections(proc):
    method = getattr(proc, "net_connections", None) or proc.connections
    return method(kind="tcp")


def listens_on(pid, port):
    """True if process pid, or one of its descendants, listens on port."""
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    for proc in procs:
        try:
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port
                   for c in tcp_connections(proc)):
                return True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return False


def wait_for(predicate, timeout, interval=0.02):
    """Poll predicate until it is true or timeout seconds passed; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def log_tail(path, lines=5):
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


class ServerDidNotStart(Exception):
    pass


class RunningServer:
    """A server started in its own session on a free loopback port.
    RunningServer.running_now lists those not stopped yet."""

    running_now = []

    def __init__(self, spec, port, log_path):
        self.spec = spec
        self.port = port
        self.log_path = log_path
        self.stopped = False
        self.left_behind = []  # pids stop() found outside the server's process group
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(spec.argv + [str(port)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.pid = self.proc.pid

    @classmethod
    def start(cls, spec):
        """Start spec's server and wait until it listens; ServerDidNotStart if it
        exits or does not listen within 10 s.  A port someone took between
        free_port() and the server's bind() is retried with another."""
        for _attempt in range(3):
            try:
                server = cls(spec, free_port(), LOGS / f"{spec.key}.log")
            except OSError as e:  # not executable, not a program, no such file...
                raise ServerDidNotStart(f"cannot run {spec.argv[0]}: {e.strerror or e}") from e
            cls.running_now.append(server)
            up = wait_for(lambda: server.proc.poll() is not None
                          or listens_on(server.pid, server.port), 10)
            if up and server.proc.poll() is None:
                return server
            server.stop()
            tail = log_tail(server.log_path)
            if not up:
                raise ServerDidNotStart(f"not listening on port {server.port} after 10 s")
            if "in use" not in tail:
                raise ServerDidNotStart(f"exited with status {server.proc.returncode} "
                                        f"before it listened: {tail or '(no output)'}")
        raise ServerDidNotStart("no free port found")

    def running(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM to the server's process group, SIGKILL to whatever is left
        of it after 2 s (or at once), then reap it and any orphan.  Orphans
        outside the group survived the SIGKILL: they are noted in left_behind
        (the smoke test requires none) before they are killed too."""
        if self.stopped:
            return
        self.stopped = True
        RunningServer.running_now.remove(self)
        for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                continue
        keep = {server.pid for server in RunningServer.running_now}
        self.left_behind = [p.pid for p in psutil.Process().children()
                            if p.pid not in keep and not in_group(p.pid, self.pid)]
        reap_orphans()


def in_group(pid, pgid):
    try:
        return os.getpgid(pid) == pgid
    except ProcessLookupError:
        return True  # gone already: nothing left behind


def reap_orphans():
    """Kill and reap the driver's children that are not running servers: the
    orphans of a stopped server, which came to us as the subreaper (and, after
    Ctrl-C, a loadgen).  A running server's own children are left alone."""
    keep = {server.pid for server in RunningServer.running_now}
    for _round in range(10):  # an orphan's own orphans come to us when it dies
        strays = [p for p in psutil.Process().children() if p.pid not in keep]
        if not strays:
            return
        for proc in strays:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
            try:
                os.waitpid(proc.pid, 0)
            except ChildProcessError:
                pass


def process_tree(pid):
    """The process pid and all its descendants, as psutil objects."""
    root = psutil.Process(pid)
    return [root] + root.children(recursive=True)


def memory_snapshot(pid, with_pss=True):
    """Processes, zombies and PSS (MB) of the server pid and its descendants."""
    count, zombies, pss = 0, 0, 0
    try:
        procs = process_tree(pid)
    except psutil.NoSuchProcess:
        return {"processes": 0, "zombies": 0, "pss_mb": 0.0}
    for proc in procs:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                zombies += 1
                continue
            if with_pss:
                pss += proc.memory_full_info().pss
            count += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return {"processes": count, "zombies": zombies, "pss_mb": pss / 2**20}


def idle_description(pid):
    """The server's parent process at rest: what every fork() has to copy."""
    proc = psutil.Process(pid)
    info = proc.memory_full_info()
    return {"mappings": len(proc.memory_maps(grouped=False)), "rss_mb": info.rss / 2**20,
            "pss_mb": info.pss / 2**20, "threads": proc.num_threads()}


class Sampler(threading.Thread):
    """Samples a server's process count and PSS while the load runs, keeping
    the peaks.  A server that does not reap its children would pile up
    zombies until the machine runs out of process ids: past ZOMBIE_LIMIT the
    sampler sets `abort`, and the load stops."""

    def __init__(self, pid, abort, count_every=COUNT_EVERY, pss_every=SAMPLE_EVERY,
                 pss_at_peak=False):
        super().__init__(daemon=True)
        self.pid = pid
        self.abort = abort
        self.count_every = count_every
        self.pss_every = pss_every
        self.pss_at_peak = pss_at_peak  # also read PSS whenever the process count peaks
        self.done = threading.Event()
        self.runaway = ""
        self.peak = {"processes": 0, "zombies": 0, "pss_mb": 0.0, "samples": 0}

    def run(self):
        tick = 0
        while not self.done.wait(self.count_every):
            tick += 1
            with_pss = tick % round(self.pss_every / self.count_every) == 1
            snap = memory_snapshot(self.pid, with_pss)
            if (self.pss_at_peak and not with_pss
                    and snap["processes"] > self.peak["processes"]):
                with_pss = True
                snap = memory_snapshot(self.pid, with_pss)
            for key in ("processes", "zombies", "pss_mb"):
                self.peak[key] = max(self.peak[key], snap[key])
            self.peak["samples"] += with_pss
            if snap["zombies"] > ZOMBIE_LIMIT:
                self.runaway = (f"stopped: {snap['zombies']} zombies (the server does not reap "
                                f"its children)")
                self.abort.set()
                return

    def result(self):
        self.done.set()
        self.join()
        return self.peak


# ---------------------------------------------------------------- measuring

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
        m.problem = (f"exited with status {server.proc.returncode} during {cell.key}: "
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
    wait_for(lambda: not children_of(server.pid), 3.0)
    after = cpu_seconds(server.pid)
    result["server"] = peak
    result["cpu_s"] = {k: after[k] - before[k] for k in before}
    return result


def cpu_seconds(pid):
    """CPU seconds process pid spent itself, and its reaped children."""
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return {"parent": 0.0, "children": 0.0}
    return {"parent": t.user + t.system, "children": t.children_user + t.children_system}


def children_of(pid):
    """The children of pid, zombies included."""
    try:
        return psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return []


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


# ---------------------------------------------------------------- the servers

def overload_specs(args):
    """The servers of the overload case, in the order they run."""
    capped_python = (f"import sys; sys.path.insert(0, {str(HERE)!r}); "
                     f"import forking_server as f; f.Server.max_children = {OVERLOAD_CAP}; "
                     f"f.main()")
    return [
        ServerSpec("lab06", f"lab06 -n {OVERLOAD_CAP}", f"lab06, at most {OVERLOAD_CAP} children",
                   [args.lab06, "-n", str(OVERLOAD_CAP)], "fork",
                   "the kit's reference server with a cap on its children"),
        ServerSpec("lab04", "lab04 (no cap)", "lab04, no cap", [args.lab04], "fork",
                   "the kit's reference forking server"),
        ServerSpec("python_fork", f"Python max {OVERLOAD_CAP}",
                   f"Python ForkingTCPServer, max_children {OVERLOAD_CAP}",
                   [sys.executable, "-c", capped_python], "fork",
                   f"bench/forking_server.py with max_children = {OVERLOAD_CAP}"),
    ]


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


def print_overload(overload):
    """The overload case's table: what a cap on the children buys."""
    print(f"\noverload: {OVERLOAD.clients} clients at once, a connection per request")
    print(f"  {'':<16} {'peak children':>13} {'peak PSS':>9} {'conn/s':>8} {'p50 ms':>7} "
          f"{'p90 ms':>7} {'p99 ms':>7} {'errors':>6}")
    for row in overload.values():
        if "problem" in row and "latency_us" not in row:
            print(f"  {row['short']:<16} {row['problem']}")
            continue
        lat = row["latency_us"]
        print(f"  {row['short']:<16} {row['server']['processes'] - 1:>13} "
              f"{row['server']['pss_mb']:>6.1f} MB {row['ops_per_s']:>8,.0f} "
              f"{lat['p50'] / 1000:>7.1f} {lat['p90'] / 1000:>7.1f} {lat['p99'] / 1000:>7.1f} "
              f"{row['errors'] + row['mismatches']:>6}")


def server_specs(args):
    """The servers to compare, in the order they run."""
    bins = Path(args.bin_dir).resolve()

    def program(name):
        """A bench server built here, else the reference build a handout ships."""
        built, shipped = bins / name, HERE / f"{name}-ref"
        return str(built if built.exists() or not shipped.exists() else shipped)

    specs = [
        ServerSpec("lab04", "lab04", "lab04 fork + SIGCHLD (C++)", [args.lab04], "fork",
                   "the kit's reference forking server"),
        ServerSpec("fork_c", "C fork", "bare C fork", [program("fork_server")], "fork",
                   "bench/fork_server.c, dynamically linked"),
        ServerSpec("fork_c_static", "C fork static", "bare C fork, static",
                   [program("fork_server_static")], "fork", "the same, linked with -static"),
        ServerSpec("python_fork", "Python fork", "Python ForkingTCPServer",
                   [sys.executable, str(HERE / "forking_server.py")], "fork",
                   "socketserver.ForkingTCPServer, bench/forking_server.py"),
        ServerSpec("epoll", "epoll", "epoll, no fork (ceiling)", [str(bins / "epoll_server")],
                   "event", "bench/epoll_server.cpp: one process, one thread"),
        ServerSpec("lab02", "lab02 iter", "lab02 iterative", [args.lab02], "iterative",
                   "the kit's iterative server: one client at a time"),
    ]
    if args.server:
        name = Path(args.server).name
        specs.insert(1, ServerSpec("yours", "yours", f"yours: {name}", [args.server], "fork",
                                   f"SERVER={args.server}"))
    return [s for s in specs if not args.only or s.key in args.only]


def check_binary(spec):
    """Why spec's program cannot run, or "" if it can."""
    program = Path(spec.argv[0])
    if not program.exists():
        return f"{program} does not exist (not built?)"
    if not program.is_file() or not os.access(program, os.X_OK):
        return f"{program} is not an executable file"
    return ""


# ---------------------------------------------------------------- reporting

def machine_description():
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        distro = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except (OSError, AttributeError):
        distro = ""
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count(),
            "cpu_model": model, "kernel": platform.release(), "kernel_version": platform.version(),
            "os": distro, "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "compiler": compiler_version()}


def compiler_version():
    try:
        out = subprocess.run([os.environ.get("CXX", "g++"), "--version"], capture_output=True,
                             timeout=10, text=True).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.splitlines()[0] if out else ""


def base_key(measured):
    """The server the ratios are taken against: lab04, else yours, else bare C."""
    for key in ("lab04", "yours", "fork_c"):
        if key in measured and measured[key].cells:
            return key
    return None


def cell_value(measured, key, cell, what="ops_per_s"):
    r = measured[key].cells.get(cell.key) if key in measured else None
    if not r or "skipped" in r or "problem" in r:
        return None
    if what == "p99_ms":
        return r["latency_us"]["p99"] / 1000
    return r[what]


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


def cpu_per_connection(measured, key, cell):
    """Server CPU us per connection, parent + children, or None."""
    r = measured[key].cells.get(cell.key, {}) if key in measured else {}
    cpu = r.get("cpu_us_per_op")
    return cpu["parent"] + cpu["children"] if cpu and r.get("ops") else None


def extra_cpu_per(rows, unit, second):
    """(rows[0], rows[second], fork CPU us per `unit` more), or None if either
    row is missing or failed."""
    if len(rows) <= second or "problem" in rows[0] or "problem" in rows[second]:
        return None
    a, b = rows[0], rows[second]
    return a, b, (b["cpu_us"]["total"] - a["cpu_us"]["total"]) / (b[unit] - a[unit])


def lessons(measured, sweep):
    """The measured answers to the seed's concerns, one sentence each."""
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


# The kit's performance targets for lab04's reference server.  A handout has no
# verdicts: there lab04 is the reference build and the student's is "yours".
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


def server_json(m):
    return {"label": m.spec.label, "short": m.spec.short, "model": m.spec.model,
            "note": m.spec.note, "program": " ".join(m.spec.argv), "started": m.started,
            "problem": m.problem, "idle": m.idle, "cells": m.cells}


def results_json(measured, sweep, targets, args, wall_s):
    return {
        "schema": "forklab-bench/1",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "make bench" + (f" SERVER={args.server}" if args.server else ""),
        "argv": sys.argv[1:],
        "machine": machine_description(),
        "config": {"duration_s": args.duration, "rounds": args.rounds,
                   "request_size": REQUEST_SIZE,
                   "op_timeout_s": OP_TIMEOUT, "sample_every_s": SAMPLE_EVERY,
                   "cells": [c.key for c in CELLS]},
        "baseline": base_key(measured),
        "servers": {key: server_json(m) for key, m in measured.items()},
        "fork_cost": sweep,
        "lessons": lessons(measured, sweep),
        "targets": [{"target": t, "verdict": v, "detail": d} for t, v, d in targets],
        "wall_s": round(wall_s, 1),
    }


# ---------------------------------------------------------------- main

def lab06_default():
    """lab06's server: the reference build a handout ships, else the kit's build."""
    lab06 = HERE.parent / "lab06_limits"
    shipped = lab06 / "server-ref"
    return shipped if shipped.exists() else lab06 / "server"


def parse_args(argv):
    p = argparse.ArgumentParser(description="Measure what a process per connection costs.")
    p.add_argument("--bin-dir", default=str(HERE), help="where loadgen and the bench servers are")
    p.add_argument("--lab02", default=str(HERE.parent / "lab02_single" / "server"))
    p.add_argument("--lab04", default=str(HERE.parent / "lab04_sigchld" / "server"))
    p.add_argument("--lab06", default=str(lab06_default()),
                   help="the capped server of the overload case (run as PROGRAM -n 16 PORT)")
    p.add_argument("--server", help="your own server program (run as PROGRAM PORT), "
                                    "measured in addition to the others")
    p.add_argument("--duration", type=float, default=3.0,
                   help="seconds of load per server and cell (default 3)")
    p.add_argument("--rounds", type=int, default=2,
                   help="split each cell in this many turns of the servers (default 2)")
    p.add_argument("--only", nargs="+", metavar="KEY",
                   choices=("lab04", "fork_c", "fork_c_static", "python_fork", "epoll", "lab02",
                            "yours"),
                   help="measure only these servers (lab04 fork_c fork_c_static python_fork "
                        "epoll lab02 yours)")
    p.add_argument("--no-forkcost", action="store_true", help="skip the fork() microbenchmark")
    p.add_argument("--no-overload", action="store_true",
                   help=f"skip the overload case ({OVERLOAD.clients} clients against lab06 -n "
                        f"{OVERLOAD_CAP}, lab04 and Python's ForkingTCPServer)")
    p.add_argument("--overload-only", action="store_true",
                   help="run the overload case alone (results/NAME.json holds only it)")
    p.add_argument("--save-as", default="latest", metavar="NAME",
                   help="write results/NAME.json and results/NAME.svg (default latest)")
    p.add_argument("--smoke", action="store_true", help="the short check of `make test`")
    p.add_argument("--show", metavar="FILE", help="print the tables of a results file again")
    args = p.parse_args(argv)
    if not 0.5 <= args.duration <= 60:
        p.error("--duration must be between 0.5 and 60 seconds")
    if not 1 <= args.rounds <= 10 or args.duration / args.rounds < 0.25:
        p.error("--rounds must be from 1 to 10, with at least 0.25 s of load per round")
    if not args.save_as.replace("-", "").replace("_", "").isalnum():
        p.error("--save-as takes a name of letters, digits, - and _ (results/NAME.json)")
    if args.server and not (Path(args.server).is_file() and os.access(args.server, os.X_OK)):
        p.error(f"--server {args.server}: no such executable file")
    return args


def handle_termination():
    def stop(signo, _frame):
        raise Stop(signal.Signals(signo).name)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    # Also when started in the background, where a shell sets SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def bench(args):
    started = time.monotonic()
    bins = Path(args.bin_dir).resolve()
    load = os.getloadavg()[0]
    rounds = f"{args.rounds} round{'s' if args.rounds > 1 else ''}"
    print(f"bench: {args.duration:g} s per cell in {rounds}, {REQUEST_SIZE}-byte "
          f"requests, {len(os.sched_getaffinity(0))} CPUs, load average {load:.2f}", flush=True)
    if load > 0.5 * len(os.sched_getaffinity(0)):
        print("bench: the machine is busy with other work; the figures will be noisy",
              flush=True)
    measured, running, sweep = {}, {}, None
    if not args.overload_only:
        measured, running = start_servers(server_specs(args))
        try:
            run_matrix(measured, running, bins / "loadgen", args)
        finally:
            for server in running.values():
                server.stop()
        sweep = None if args.no_forkcost else fork_cost_sweep(bins / "forkcost")
    overload = None if args.no_overload else run_overload(args, bins / "loadgen")
    measured = {k: measured[k] for k in display_order(measured)}
    targets = evaluate_targets(measured)
    if measured:
        report(measured, sweep, targets)
    if overload:
        print_overload(overload)
    data = results_json(measured, sweep, targets, args, time.monotonic() - started)
    data["overload"] = overload
    data["machine"]["loadavg_before"] = round(load, 2)
    data["machine"]["loadavg_after"] = round(os.getloadavg()[0], 2)
    write_results(data, args.save_as)
    return 0


def show(path):
    """Print the tables of a results file again (for slides and READMEs)."""
    try:
        data = json.loads(Path(path).read_text())
        servers = data["servers"]
    except (OSError, ValueError, KeyError) as e:
        print(f"bench: --show {path}: not a results file of bench.py ({e})", file=sys.stderr)
        return 2
    measured = {}
    for key, srv in servers.items():
        spec = ServerSpec(key, srv["short"], srv["label"], srv["program"].split(), srv["model"],
                          srv["note"])
        measured[key] = Measured(spec, srv["started"], srv["problem"], srv["idle"], srv["cells"])
    m = data["machine"]
    print(f"{data['command']} on {data['date']}: {m['nproc']} CPUs ({m['cpu_model']}), "
          f"Linux {m['kernel']}, load average {m.get('loadavg_before', '?')}, "
          f"{data['config']['duration_s']:g} s per cell, {data['wall_s']:.0f} s in all")
    report(measured, data["fork_cost"], evaluate_targets(measured))
    if data.get("overload"):
        print_overload(data["overload"])
    return 0


def display_order(measured):
    order = ["lab04", "yours", "fork_c", "fork_c_static", "python_fork", "lab02", "epoll"]
    return [k for k in order if k in measured]


def write_results(data, name):
    RESULTS.mkdir(exist_ok=True)
    json_path, svg_path = RESULTS / f"{name}.json", RESULTS / f"{name}.svg"
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    svg_path.write_text(svgplot.render(data))
    print(f"\nwrote {json_path.relative_to(HERE.parent)} and {svg_path.relative_to(HERE.parent)}"
          f" ({data['wall_s']:.0f} s)")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    become_subreaper()
    handle_termination()
    LOGS.mkdir(parents=True, exist_ok=True)
    try:
        if args.show:
            return show(args.show)
        if args.smoke:
            import smoke
            return smoke.run(args)
        return bench(args)
    except (KeyboardInterrupt, Stop):
        print("\nbench: interrupted; stopping what it started", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output went to `head` or the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        for server in list(RunningServer.running_now):
            server.stop()
        reap_orphans()


if __name__ == "__main__":
    # Run as the module `bench`, the one smoke.py imports: one RunningServer
    # class, one list of running servers.
    import bench as this_module
    sys.exit(this_module.main())
