"""smoke.py -- `make test` in bench/: a check of a few seconds that the bench's
tools work, run through `bench.py --smoke`.

  * loadgen refuses bad arguments with exit status 2 and a usage line;
  * against the epoll server, the bare C forking server (when this copy has
    fork_server.c) and lab04's server (when it has lab04), both modes, short
    and long requests: zero errors, zero wrong replies, valid JSON, as many
    operations as asked for;
  * loadgen does catch a wrong server: one that echoes without uppercasing
    gives mismatches, one that never answers gives timeouts, not a hang;
  * forkcost reports JSON; the plot renders as well-formed SVG;
  * nothing the check started is left running.
"""

import json
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import psutil

from . import results, svgplot
from .measure import run_loadgen
from .model import HERE, Cell, Measured
from .sampling import memory_snapshot
from .servers import RunningServer, ServerDidNotStart, check_binary, end_strays, server_specs

# `make test` builds lab04's server first (the lab-servers target) whenever
# this copy of the kit has the lab: then a missing server is a failure.
LAB04_PRESENT = (HERE.parent / "lab04_sigchld" / "Makefile").exists()


class Checks:
    def __init__(self):
        self.failures = []
        self.count = 0

    def expect(self, cond, what):
        self.count += 1
        if not cond:
            self.failures.append(what)
            print(f"  FAIL {what}", flush=True)
        return cond


def check_usage_errors(checks, loadgen):
    bad = [[], ["--mode", "both", "127.0.0.1:1"], ["--clients", "0", "127.0.0.1:1"],
           ["--duration", "1", "--count", "5", "127.0.0.1:1"], ["localhost:80"],
           ["127.0.0.1:0"], ["--size", "x", "127.0.0.1:1"], ["--json"]]
    for argv in bad:
        done = subprocess.run([str(loadgen), *argv], capture_output=True, timeout=10)
        checks.expect(done.returncode == 2 and b"usage" in done.stderr,
                      f"loadgen {' '.join(argv)} exits 2 with a usage line (got "
                      f"{done.returncode}: {done.stderr.decode(errors='replace').strip()[:80]})")


def check_clean_run(checks, loadgen, port, name, mode, clients, count, extra=()):
    cell = Cell(mode, clients)
    r = run_loadgen(loadgen, port, cell, 0, ["--count", str(count), *extra])
    what = f"{name} {mode} {clients} clients {' '.join(extra)}".strip()
    if not checks.expect("problem" not in r, f"{what}: {r.get('problem')}"):
        return r
    checks.expect(r["errors"] == 0 and r["mismatches"] == 0 and r["ops"] == count,
                  f"{what}: {r['ops']}/{count} operations, {r['errors']} errors "
                  f"{r['error_kinds']}, {r['mismatches']} mismatches")
    checks.expect(all(k in r for k in ("ops_per_s", "latency_us", "connections")),
                  f"{what}: JSON has ops_per_s, latency_us, connections")
    print(f"  ok {what}: {r['ops_per_s']:,.0f} ops/s", flush=True)
    return r


def check_server(checks, loadgen, spec, heavy):
    try:
        server = RunningServer.start(spec)
    except ServerDidNotStart as e:
        checks.expect(False, f"{spec.label} starts: {e}")
        return {}
    try:
        results = {
            "conn-8": check_clean_run(checks, loadgen, server.port, spec.short, "conn", 8, 300),
            "persistent-8": check_clean_run(checks, loadgen, server.port, spec.short,
                                            "persistent", 8, 2000),
        }
        if heavy:
            check_clean_run(checks, loadgen, server.port, spec.short, "persistent", 100, 1000)
            check_clean_run(checks, loadgen, server.port, spec.short, "persistent", 2, 20,
                            ["--size", "300000"])
        results["persistent-8"]["server"] = memory_snapshot(server.pid)
        return results
    finally:
        server.stop()
        checks.expect(not server.left_behind, f"{spec.label} stops with nothing left "
                      f"behind (stop() had to kill {server.left_behind})")


class FakeServer(threading.Thread):
    """A wrong server inside this process: echoes without uppercasing
    (reply=True) or accepts and never answers (reply=False)."""

    def __init__(self, reply):
        super().__init__(daemon=True)
        self.reply = reply
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.conns = []

    def run(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.reply:
                threading.Thread(target=self.echo, args=(conn,), daemon=True).start()

    @staticmethod
    def echo(conn):
        try:
            while data := conn.recv(65536):
                conn.sendall(data)
        except OSError:
            pass

    def close(self):
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for conn in self.conns:
            conn.close()


def check_catches_wrong_servers(checks, loadgen):
    echo = FakeServer(reply=True)
    echo.start()
    r = run_loadgen(loadgen, echo.port, Cell("conn", 2), 0, ["--count", "20"])
    echo.close()
    checks.expect(r.get("mismatches") == 20,
                  f"a server that does not uppercase gives 20 mismatches in 20 (got {r})")
    silent = FakeServer(reply=False)
    silent.start()
    started = time.monotonic()
    r = run_loadgen(loadgen, silent.port, Cell("persistent", 2), 0,
                          ["--count", "2"], timeout=0.3)
    took = time.monotonic() - started
    silent.close()
    checks.expect(r.get("errors") == 2 and took < 5,
                  f"a server that never answers gives 2 timeouts within 5 s "
                  f"(got {r.get('error_kinds', r)} in {took:.1f} s)")
    print("  ok loadgen catches wrong replies and silent servers", flush=True)


def check_forkcost(checks, forkcost):
    done = subprocess.run([str(forkcost), "--iterations", "20", "--touch-mb", "1"],
                          capture_output=True, timeout=30)
    try:
        row = json.loads(done.stdout)
    except ValueError:
        row = {}
    checks.expect(done.returncode == 0 and row.get("iterations") == 20
                  and row["round_trip_us"]["p50"] > 0 and row["cpu_us"]["total"] > 0,
                  f"forkcost reports JSON (got {done.returncode}: {done.stdout[:80]!r})")
    bad = subprocess.run([str(forkcost), "--mappings", "-1"], capture_output=True, timeout=10)
    checks.expect(bad.returncode == 2, "forkcost --mappings -1 exits 2")
    return row


def check_plot(checks, measured, forkrow, args):
    sweep = {"memory": [forkrow], "memory_hugepages": [], "mappings": [forkrow]}
    data = results.results_json(measured, sweep, [], args, 0.0)
    data["config"]["cells"] = ["conn-8", "persistent-8"]
    try:
        ET.fromstring(svgplot.render(data))
        ok = True
    except ET.ParseError as e:
        ok = str(e)
    checks.expect(ok is True, f"the plot is well-formed SVG ({ok})")


def run(args):
    """Run every check; 0 if all passed, 1 otherwise."""
    bins = Path(args.bin_dir).resolve()
    loadgen, checks = bins / "loadgen", Checks()
    print("bench smoke test", flush=True)
    check_usage_errors(checks, loadgen)
    check_catches_wrong_servers(checks, loadgen)
    measured = {}
    for spec in server_specs(args):
        if spec.key not in ("epoll", "fork_c", "lab04"):
            continue
        problem = check_binary(spec)
        if problem and spec.key == "lab04" and LAB04_PRESENT:
            checks.expect(False, f"{spec.label} is built: {problem}")
            continue
        if problem:
            print(f"  skipped {spec.label}: {problem}", flush=True)
            continue
        m = Measured(spec, started=True)
        m.cells = check_server(checks, loadgen, spec, heavy=spec.key != "fork_c")
        measured[spec.key] = m
    check_plot(checks, measured, check_forkcost(checks, bins / "forkcost"), args)
    # Every server is stopped and every tool has exited: nothing may be left
    # for the final clean-up to find.
    left = psutil.Process().children(recursive=True)
    checks.expect(not left, f"nothing left running (found {[p.pid for p in left]})")
    end_strays()
    verdict = "ok" if not checks.failures else f"{len(checks.failures)} FAILED"
    print(f"bench smoke test: {checks.count} checks, {verdict}", flush=True)
    return 0 if not checks.failures else 1
