"""results.py -- results/NAME.json (schema forklab-bench/1, which the slides
read too) and results/NAME.svg (svgplot.py): writing them, and reading a
saved run back for --show."""

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import psutil

from . import svgplot
from .model import (CELLS, DURATION, HERE, OP_TIMEOUT, OVERLOAD, OVERLOAD_CAP, OVERLOAD_SAMPLING,
                    REQUEST_SIZE, RESULTS, ROUNDS, SAMPLE_EVERY, Measured, ServerSpec)
from .report import base_key, lessons


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


def server_json(m):
    return {"label": m.spec.label, "short": m.spec.short, "model": m.spec.model,
            "note": m.spec.note, "program": " ".join(m.spec.argv), "started": m.started,
            "problem": m.problem, "idle": m.idle, "cells": m.cells}


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def command_of(args):
    """The command that made a run, as a reader would type it."""
    if not args.overload_only:
        return "make bench" + (f" SERVER={args.server}" if args.server else "")
    words = ["tools/python -m bench.bench --overload-only"]
    if args.duration != DURATION:
        words.append(f"--duration {args.duration:g}")
    if args.rounds != ROUNDS:
        words.append(f"--rounds {args.rounds}")
    if args.save_as != "latest":
        words.append(f"--save-as {args.save_as}")
    return " ".join(words)


def results_json(measured, sweep, targets, args, wall_s):
    return {
        "schema": "forklab-bench/1",
        "date": now(),
        "command": command_of(args),
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


def overload_json(rows, args, loadavg_before, wall_s):
    """The overload case's entry of results/NAME.json: what each server gave
    (rows, from measure.run_overload), and when, by what command, on how busy
    a machine (load average when the case began and when it ended)."""
    machine = machine_description()
    machine["loadavg_before"] = round(loadavg_before, 2)
    machine["loadavg_after"] = round(os.getloadavg()[0], 2)
    return {"date": now(), "command": command_of(args), "argv": sys.argv[1:],
            "machine": machine,
            "config": {"clients": OVERLOAD.clients, "mode": OVERLOAD.mode, "cap": OVERLOAD_CAP,
                       "duration_s": args.duration, "rounds": args.rounds,
                       "request_size": REQUEST_SIZE, "op_timeout_s": OP_TIMEOUT,
                       "count_every_s": OVERLOAD_SAMPLING[0],
                       "pss_every_s": OVERLOAD_SAMPLING[1]},
            "wall_s": round(wall_s, 1), "servers": rows}


def saved(name):
    """results/NAME.json as a dict, or None if there is none; ValueError when
    it is not a results file of bench.py (then it is not to be overwritten)."""
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or data.get("schema") != svgplot.SCHEMA:
        raise ValueError(f"results/{path.name} is not a results file of bench.py")
    return data


def display_order(measured):
    order = ["lab04", "yours", "fork_c", "fork_c_static", "python_fork", "lab02", "epoll"]
    return [k for k in order if k in measured]


def write_results(data, name, wall_s=None):
    """Write results/NAME.json and .svg; wall_s: the seconds the run took, if
    not data's (an overload case merged into a saved run)."""
    RESULTS.mkdir(exist_ok=True)
    json_path, svg_path = RESULTS / f"{name}.json", RESULTS / f"{name}.svg"
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    svg_path.write_text(svgplot.render(data))
    print(f"\nwrote {json_path.relative_to(HERE.parent)} and {svg_path.relative_to(HERE.parent)}"
          f" ({data['wall_s'] if wall_s is None else wall_s:.0f} s)")


def load(path):
    """(data, {key: Measured}) of a results file; OSError, ValueError,
    KeyError, TypeError or AttributeError when it is not one."""
    data = json.loads(Path(path).read_text())
    measured = {}
    for key, srv in data["servers"].items():
        spec = ServerSpec(key, srv["short"], srv["label"], srv["program"].split(), srv["model"],
                          srv["note"])
        measured[key] = Measured(spec, srv["started"], srv["problem"], srv["idle"], srv["cells"])
    return data, measured
