"""lab07_events: one process, many clients (a placeholder written by `make new-lab`: replace its test
with the lab's own)."""

from grader.harness import graded, procs
from grader.harness.expect import expect
from grader.i18n import _

from checks.build_tests import builds_test

LAB = "lab07_events"

# pytest runs the tests of a module in the order their names are bound here.
test_builds = builds_test()


@graded(points=1, hint="`./server NAME` prints hello, a comma, a space, NAME and a newline.")
def test_greets_by_name(lab_dir, run_dir):
    """greets by name (lab07's placeholder)

    `server world`: `hello, world` and a newline, exit status 0
    """
    run = procs.run("server", [lab_dir / "server", "world"], log_dir=run_dir, timeout=3)
    said = run.stdout.decode(errors="replace")
    expect(run.returncode == 0 and said == "hello, world\n",
           _("`server world` printed {output} and exited with status {status}").format(
               output=repr(said[:200]), status=run.returncode))
