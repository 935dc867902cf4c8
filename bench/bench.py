"""bench.py -- `make bench`: what a process per connection costs, measured.

    python3 -m bench.bench [--duration S] [--server PATH] [--save-as NAME] [--smoke] ...

(from the kit's folder, as `make -C bench bench` runs it: the bench is the
package bench/, and imports the grader's process layer as grader.harness).

The course note warns that a forking server's processes are bounded by memory and
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

This file is the command line; the work is done by one module each:

    model.py     the cells of load, a server's description, the record of its results
    servers.py   the servers under test, started and stopped through the kit's
                 process layer (grader/harness/procs.py and net.py)
    sampling.py  a server's processes, zombies, memory and CPU time under load
    measure.py   loadgen against the servers, forkcost, the overload case
    report.py    the tables and the lessons
    targets.py   lab04 against the kit's performance targets
    results.py   results/NAME.json, and results/NAME.svg (drawn by svgplot.py)
    smoke.py     the smoke test (--smoke)
"""

import argparse
import os
import signal
import sys
import time
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file: bench/ is no package then
    print("bench.py: run tools/python -m bench.bench from the kit's folder "
          "(or make -C bench bench), not this file", file=sys.stderr)
    sys.exit(2)

from . import measure, report, results, servers, smoke, targets  # noqa: E402
from .model import (DURATION, HERE, LOGS, OVERLOAD, OVERLOAD_CAP, REQUEST_SIZE,  # noqa: E402
                    ROUNDS)


class Stop(Exception):
    """SIGTERM or SIGHUP arrived: clean up as for Ctrl-C."""


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
    p.add_argument("--duration", type=float, default=DURATION,
                   help=f"seconds of load per server and cell (default {DURATION:g})")
    p.add_argument("--rounds", type=int, default=ROUNDS,
                   help=f"split each cell in this many turns of the servers (default {ROUNDS})")
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
                   help="run the overload case alone; its entry replaces the overload "
                        "entry of results/NAME.json, whose other figures are kept (a new "
                        "file holds only it)")
    p.add_argument("--save-as", default="latest", metavar="NAME",
                   help="write results/NAME.json and results/NAME.svg (default latest)")
    p.add_argument("--smoke", action="store_true", help="the short check of `make test`")
    p.add_argument("--show", metavar="FILE", help="print the tables of a results file again")
    args = p.parse_args(argv)
    if not 0.5 <= args.duration <= 60:
        p.error("--duration must be between 0.5 and 60 seconds")
    if not 1 <= args.rounds <= 10 or args.duration / args.rounds < 0.25:
        p.error("--rounds must be from 1 to 10, with at least 0.25 s of load per round")
    if args.overload_only and args.no_overload:
        p.error("--overload-only and --no-overload leave nothing to run")
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
    measured, running, sweep, saved = {}, {}, None, None
    if args.overload_only:
        try:
            saved = results.saved(args.save_as)
        except (OSError, ValueError) as e:
            print(f"bench: --overload-only --save-as {args.save_as}: {e}; not overwritten",
                  file=sys.stderr)
            return 2
    else:
        measured, running = measure.start_servers(servers.server_specs(args))
        try:
            measure.run_matrix(measured, running, bins / "loadgen", args)
        finally:
            for server in running.values():
                server.stop()
        sweep = None if args.no_forkcost else measure.fork_cost_sweep(bins / "forkcost")
    overload = None
    if not args.no_overload:
        overload_load, overload_started = os.getloadavg()[0], time.monotonic()
        rows = measure.run_overload(args, bins / "loadgen")
        overload = results.overload_json(rows, args, overload_load,
                                         time.monotonic() - overload_started)
    measured = {k: measured[k] for k in results.display_order(measured)}
    verdicts = targets.evaluate_targets(measured)
    if measured:
        report.report(measured, sweep, verdicts)
    if overload:
        report.print_overload(overload)
    if saved is not None:  # --overload-only into a saved run: its other figures stay
        saved["overload"] = overload
        results.write_results(saved, args.save_as, overload and overload["wall_s"])
        return 0
    data = results.results_json(measured, sweep, verdicts, args, time.monotonic() - started)
    data["overload"] = overload
    data["machine"]["loadavg_before"] = round(load, 2)
    data["machine"]["loadavg_after"] = round(os.getloadavg()[0], 2)
    results.write_results(data, args.save_as)
    return 0


def show(path):
    """Print the tables of a results file again (for slides and READMEs)."""
    try:
        data, measured = results.load(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        print(f"bench: --show {path}: not a results file of bench.py ({e})", file=sys.stderr)
        return 2
    m = data["machine"]
    print(f"{data['command']} on {data['date']}: {m['nproc']} CPUs ({m['cpu_model']}), "
          f"Linux {m['kernel']}, load average {m.get('loadavg_before', '?')}, "
          f"{data['config']['duration_s']:g} s per cell, {data['wall_s']:.0f} s in all")
    report.report(measured, data["fork_cost"], targets.evaluate_targets(measured))
    if data.get("overload"):
        report.print_overload(data["overload"])
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    servers.become_subreaper()
    handle_termination()
    LOGS.mkdir(parents=True, exist_ok=True)
    try:
        if args.show:
            return show(args.show)
        if args.smoke:
            return smoke.run(args)
        return bench(args)
    except (KeyboardInterrupt, Stop):
        print("\nbench: interrupted; stopping what it started", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output went to `head` or the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        for server in list(servers.RunningServer.running_now):
            server.stop()
        servers.end_strays()


if __name__ == "__main__":
    sys.exit(main())
