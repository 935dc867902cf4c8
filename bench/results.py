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
from .model import (CELLS, HERE, OP_TIMEOUT, REQUEST_SIZE, RESULTS, SAMPLE_EVERY, Measured,
                   ServerSpec)
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
