"""The class-scale benchmark (batch_bench.py) works: its short form grades
three submissions and reports its figures.  How fast is not tested here."""

import re
import subprocess
import sys

from conftest import KIT_ROOT


def test_the_batch_benchmark_runs_and_reports_per_submission_figures():
    proc = subprocess.run([sys.executable, "-m", "grader.selftest.batch_bench", "--short"],
                          cwd=KIT_ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "batch_bench: 3 submissions (handout, mutant, reference), -j 2" in proc.stdout
    assert "graded: 3 of 3; statuses: 3 ok" in proc.stdout
    assert re.search(r"wall: \d+ s, [\d.]+ s per submission; CPU: \d+ s", proc.stdout)
    assert "sandbox: " in proc.stdout
