"""Fixtures every lab's graded tests use."""

import random

import pytest
from grader.i18n import _

from grader.harness import diagnose, kit, procs, timeline
from grader.harness.scoring import slug, title_of

# By its full name: the selftests grade with copies of this file in test
# folders of their own, which have no checks/ beside them.
from grader.tests.checks.cause_hints import HINTS as CAUSE_HINTS

# The advice for each cause the harness names is the labs' (checks/cause_hints.py).
diagnose.hints.update(CAUSE_HINTS)


@pytest.fixture(scope="session")
def grading(pytestconfig):
    """The grading run: scratch kit, seed, builds (harness.scoring.GradePlugin)."""
    return pytestconfig.pluginmanager.get_plugin("forklab")


@pytest.fixture(scope="module")
def lab_build(grading, request):
    """The lab's build, done once per grading run."""
    return grading.build(request.module.LAB)


@pytest.fixture
def lab_dir(grading, lab_build, request):
    """The built lab folder in the scratch kit; not run if the build failed."""
    if not lab_build.ok:
        pytest.skip(_("not run: the lab did not build (see '{title}')").format(title=_("builds")))
    return grading.lab_dir(request.module.LAB)


@pytest.fixture
def run_dir(grading, request):
    """A scratch folder for this test's program logs."""
    path = grading.test_log_dir(request.node)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def preload(grading):
    """preload(NAME): grader/support/NAME.cpp as a library to preload into a
    program under test, built (or taken from a batch) once per grading run."""
    def library(name: str):
        try:
            return kit.support_library(grading.scratch, name)
        except RuntimeError as exc:
            pytest.fail(f"grader: {exc}", pytrace=False)
    return library


@pytest.fixture
def rng(grading, request):
    """Random inputs, reproducible with `grade --seed N`."""
    return random.Random(f"{grading.seed}:{request.node.name}")


@pytest.fixture(autouse=True)
def no_process_left_behind():
    """Whatever a test started -- and whatever that forked -- ends with it."""
    yield
    procs.end_all()


@pytest.fixture(autouse=True)
def server_timeline(grading, request):
    """The servers a test starts are sampled in the background; their
    timeline goes next to the test's log (harness/timeline.py).  Set up after
    no_process_left_behind, so it stops before the test's programs are ended."""
    recording = timeline.begin()
    yield
    lab = getattr(request.module, "LAB", None)
    if lab is None:
        timeline.finish(recording, None, "")
        return
    title = title_of(request.function)
    timeline.finish(recording, grading.logs_dir / lab / f"{slug(title)}.svg",
                    _("{lab}: {title}").format(lab=lab, title=_(title)))
