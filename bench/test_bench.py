"""Unit tests of the bench's driver (run by `make test` after the smoke test):
its modules import one another without a circle, the chart and its panels
are well-formed SVG, and bad input ends in a one-line error."""

import ast
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench import results, svgplot

HERE = Path(__file__).resolve().parent
KIT_ROOT = HERE.parent
REFERENCE = HERE / "results" / "reference.json"


def bench_imports():
    """{module: the bench modules it imports} for every module of bench/."""
    modules = {p.stem for p in HERE.glob("*.py")}
    graph = {}
    for name in modules:
        tree = ast.parse((HERE / f"{name}.py").read_text())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name.removeprefix("bench.") for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.level or node.module == "bench"):
                # from . import a, b / from .a import x / from bench import a
                found |= {node.module} if node.level and node.module else {
                    a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module.removeprefix("bench."))
        graph[name] = found & modules
    return graph


def test_the_bench_modules_import_no_circle():
    graph = bench_imports()
    assert graph["bench"] >= {"measure", "report", "results", "servers", "smoke", "targets"}
    done, path = set(), []

    def visit(name):
        assert name not in path, f"import circle: {' -> '.join(path + [name])}"
        if name in done:
            return
        path.append(name)
        for other in sorted(graph[name]):
            visit(other)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)
    assert not any("bench" in imported for name, imported in graph.items() if name != "bench")


def fork_row(rss_mb, touch_mb, mappings, cpu_us):
    return {"rss_mb": rss_mb, "touch_mb": touch_mb, "mappings": mappings,
            "cpu_us": {"total": cpu_us}}


RESULTS = {
    "schema": svgplot.SCHEMA, "date": "2000-01-01T00:00:00+00:00",
    "machine": {"nproc": 2, "cpu_model": "Test CPU", "kernel": "0.0", "os": "Test OS"},
    "config": {"cells": ["conn-1", "persistent-8"], "duration_s": 1, "sample_every_s": 0.5},
    "servers": {"lab04": {"label": "lab04 <fork>", "short": "lab04", "cells": {
        "conn-1": {"ops": 9, "ops_per_s": 1234.0, "cpu_us_per_op": {"parent": 50, "children": 150}},
        "persistent-8": {"ops": 9, "ops_per_s": 99000.0,
                         "server": {"pss_mb": 2.0, "processes": 9}}}}},
    "fork_cost": {"memory": [fork_row(3, 0, 40, 180)], "memory_hugepages": [],
                  "mappings": [fork_row(3, 0, 40, 180), fork_row(3, 0, 1040, 1800)]},
}


def test_the_chart_and_every_figure_are_well_formed_svg_with_the_values():
    chart = svgplot.render(RESULTS)
    ET.fromstring(chart)
    assert "lab04 &lt;fork&gt;" in chart
    assert ">1.2k<" in chart and ">99k<" in chart and ">256<" in chart  # 2 MB / 8 clients
    for name in svgplot.FIGURES:
        svg = svgplot.figure(RESULTS, name)
        root = ET.fromstring(svg)
        assert root.find("{http://www.w3.org/2000/svg}title").text, name
        assert "measured by make bench on 2000-01-01" in svg


def test_a_figure_without_data_is_none():
    assert svgplot.figure(dict(RESULTS, fork_cost=None), "fork-cost") is None
    assert svgplot.figure(dict(RESULTS, servers={}), "conn-rate") is None


@pytest.mark.skipif(not REFERENCE.exists(), reason="no reference run in this copy")
def test_the_reference_chart_is_the_one_svgplot_draws():
    """results/reference.svg is what svgplot.py draws from reference.json today."""
    data = json.loads(REFERENCE.read_text())
    assert svgplot.render(data) == (HERE / "results" / "reference.svg").read_text()


@pytest.mark.skipif(not REFERENCE.exists(), reason="no reference run in this copy")
def test_the_reference_run_has_its_overload_case_and_how_it_was_measured():
    """lab06's README shows the overload entry of reference.json: every
    server's figures, the command, the date and the load average."""
    overload = json.loads(REFERENCE.read_text())["overload"]
    assert "--overload-only" in overload["command"] and overload["date"]
    assert {"loadavg_before", "loadavg_after", "nproc"} <= set(overload["machine"])
    assert overload["config"]["clients"] == 200 and overload["config"]["cap"] == 16
    assert list(overload["servers"]) == ["lab06", "lab04", "python_fork"]
    for row in overload["servers"].values():
        assert row["errors"] == 0 and row["mismatches"] == 0, row["short"]
        assert {"p50", "p90", "p99"} <= set(row["latency_us"])
        assert row["server"]["processes"] > 1 and row["server"]["pss_mb"] > 0
    done = run("-m", "bench.bench", "--show", REFERENCE, cwd=KIT_ROOT)
    assert done.returncode == 0, done.stderr
    assert "overload: 200 clients at once" in done.stdout and "lab06 -n 16" in done.stdout


def test_overload_only_merges_into_a_saved_run_and_never_over_a_stranger(tmp_path,
                                                                         monkeypatch):
    monkeypatch.setattr(results, "RESULTS", tmp_path)
    assert results.saved("none") is None
    (tmp_path / "run.json").write_text(json.dumps(RESULTS))
    assert results.saved("run") == RESULTS
    (tmp_path / "other.json").write_text('{"schema": "other/9"}')
    with pytest.raises(ValueError, match="not a results file of bench.py"):
        results.saved("other")


def run(*argv, cwd=HERE):
    return subprocess.run([sys.executable, *map(str, argv)], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def test_svgplot_command_line(tmp_path):
    good = tmp_path / "r.json"
    good.write_text(json.dumps(RESULTS))
    done = run("svgplot.py", "--figure", "fork-mappings", good)
    assert done.returncode == 0 and done.stdout.startswith("<svg"), done.stderr
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps(dict(RESULTS, fork_cost=None)))
    done = run("svgplot.py", "--figure", "fork-cost", empty)
    assert done.returncode == 3 and "no data for figure fork-cost" in done.stderr
    other = tmp_path / "other.json"
    other.write_text('{"schema": "other/9"}')
    for argv, message in ((["--figure", "pie", good], "unknown figure pie"),
                          ([other], 'expected "forklab-bench/1"'),
                          ([tmp_path / "none.json"], "none.json"),
                          ([], "usage")):
        done = run("svgplot.py", *argv)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_show_refuses_a_file_that_is_not_a_results_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    done = run("-m", "bench.bench", "--show", bad, cwd=KIT_ROOT)
    assert done.returncode == 2 and "not a results file of bench.py" in done.stderr
    assert "Traceback" not in done.stderr


def test_bench_py_run_as_a_file_says_how_to_run_it():
    done = run("bench.py", "--show", REFERENCE)
    assert done.returncode == 2 and "tools/python -m bench.bench" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_forking_server_refuses_bad_arguments_in_one_line():
    for argv in (["--max-children", "x"], ["1", "2"], ["port"]):
        done = run("forking_server.py", *argv)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
        assert "Traceback" not in done.stderr
