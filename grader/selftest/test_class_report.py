"""The class report of `grade --batch` (class_report.py), the timelines of
the server tests (harness/timeline.py) and --similarity, on one batch of 20
submissions graded once for the whole module:

- the reference, and a copy of it with its variables renamed and its
  comments dropped;
- an independently written lab04 server (class_batch/), and a renamed copy;
- the handout (stubs);
- every lab04 mutant of the catalogue, and some lab01 mutants (lab04 builds
  with the student's wrap.cpp);
- a submission that does not compile.

A grading that hangs or crashes costs minutes of waiting in a batch
(test_batch.py grades one); test_hangs_and_crashes_are_apart gives the
report such outcomes directly.

To keep its CPU time down, the batch grades lab04_sigchld only, two at a
time, with a short selection of lab04's graded tests (the ones the timelines
and the mutants below need; FORKLAB_GRADER_TESTS).  The full suite's
verdicts on each mutant are test_mutants.py's business.
"""

import csv
import html.parser
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

import catalogue
from conftest import GRADER_DIR, KIT_ROOT, run_grade

from grader import batch, class_report
from grader.harness import kit
from grader.similarity import similarity
from tools.make_handout import make_handout

LAB = "lab04_sigchld"
INDEPENDENT = Path(__file__).resolve().parent / "class_batch" / "lab04_independent.cpp"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# The graded tests of the short selection: lab04's own module, copied beside
# it under another name (with the checks/ it imports), and the tests the
# report needs bound under this module's.
SELECTION = textwrap.dedent('''
    import lab04_full as full

    LAB = full.LAB
    test_builds = full.test_builds
    test_server_starts = full.test_server_starts
    test_one_client = full.test_one_client
    test_client_gone_while_written_to = full.test_client_gone_while_written_to
    test_children_exit = full.test_children_exit
    test_parent_closes_connfd = full.test_parent_closes_connfd
    test_children_reaped = full.test_children_reaped
    test_many_exit_at_once = full.test_many_exit_at_once
    test_accepts_while_children_exit = full.test_accepts_while_children_exit
    test_fork_failure = full.test_fork_failure
    ''')

def rename(text: str) -> str:
    """A copy as a student hides one: variables renamed, comments dropped."""
    for old, new in (("connfd", "client_sock"), ("listenfd", "server_sock"),
                     ("cliaddr", "peer_addr"), ("servaddr", "local_addr"), ("buf", "data"),
                     ("program", "prog_name"), ("saved_errno", "old_errno"),
                     ("listener", "acceptor"), ("port", "portnum"), ("pid", "child_pid")):
        text = re.sub(rf"\b{old}\b", new, text)
    text = re.sub(r"^\s*//.*\n", "", text, flags=re.MULTILINE)
    return re.sub(r"\s+//.*", "", text)


def make_class(folder: Path, scratch: Path) -> dict:
    """The submissions; returns {student: what it is}."""
    by_name = {m.name: m for m in catalogue.catalogue()}
    kinds = {}
    catalogue.reference_submission(folder / "alice")
    kinds["alice"] = "reference"
    catalogue.reference_submission(folder / "alice_copy")
    server = folder / "alice_copy" / LAB / "server.cpp"
    server.write_text(rename(server.read_text()))
    kinds["alice_copy"] = "renamed copy of alice"
    catalogue.reference_submission(folder / "carol")
    shutil.copy(INDEPENDENT, folder / "carol" / LAB / "server.cpp")
    kinds["carol"] = "independent"
    catalogue.reference_submission(folder / "carol_copy")
    (folder / "carol_copy" / LAB / "server.cpp").write_text(rename(INDEPENDENT.read_text()))
    kinds["carol_copy"] = "renamed copy of carol"
    handout = make_handout(KIT_ROOT, scratch / "dist", tarball=False)
    for rel in kit.STUDENT_FILES:
        (folder / "handout" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(handout / rel, folder / "handout" / rel)
    kinds["handout"] = "handout"
    chosen = [m for m in catalogue.catalogue() if m.name.startswith(LAB + "/")]
    chosen += [by_name[f"lab01_wrap/{name}"] for name in (
        "accept_gives_up_on_eintr", "read_gives_up_on_eintr", "io_wrapper_dies_on_error",
        "writen_ignores_short_writes", "readline_stops_at_nul", "accept_keeps_clobbered_length",
        "readline_drops_rest_of_long_line")]
    for mutant in chosen:
        student = mutant.name.replace("/", "-")
        catalogue.apply(mutant, folder / student)
        kinds[student] = mutant.name
    catalogue.reference_submission(folder / "broken")
    (folder / "broken" / LAB / "server.cpp").write_text("this is not C++\n")
    kinds["broken"] = "does not compile"
    return kinds


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    similarity.check_available()  # make deps-similarity
    root = tmp_path_factory.mktemp("class")
    tests = root / "tests"
    tests.mkdir()
    shutil.copy(GRADER_DIR / "tests" / "conftest.py", tests / "conftest.py")
    shutil.copytree(GRADER_DIR / "tests" / "checks", tests / "checks",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(GRADER_DIR / "tests" / "test_lab04_sigchld.py", tests / "lab04_full.py")
    (tests / "test_lab04_sigchld.py").write_text(SELECTION)
    kinds = make_class(root / "submissions", root)
    out = root / "grades"
    proc = run_grade("--batch", root / "submissions", "--out", out, "-j", "2", "--lab", LAB,
                     "--similarity",
                     env={"FORKLAB_GRADER_TESTS": str(tests)},
                     timeout=3000)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {row["student"]: row for row in batch.read_grades(out / "grades.csv")}
    return kinds, out, rows, proc


def failed_tests(out: Path) -> dict:
    """failed_tests.csv: {student: ["lab: test", ...]}."""
    failed = {}
    with open(out / "failed_tests.csv", newline="") as f:
        for row in csv.DictReader(f):
            failed.setdefault(row["student"], []).append(f"{row['lab']}: {row['test']}")
    return failed


class Page(html.parser.HTMLParser):
    """The elements of report.html that carry data-* attributes, its links
    and its ids."""

    def __init__(self, text: str):
        super().__init__()
        self.data = []  # (tag, attrs)
        self.links = []
        self.ids = set()
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        if any(key.startswith("data-") for key in attrs):
            self.data.append((tag, attrs))

    def having(self, tag, cls=None):
        return [a for t, a in self.data if t == tag and (cls is None or a.get("class") == cls)]


def check_against_csv(page: Page, out: Path) -> None:
    """Every figure of the page is grades.csv's and failed_tests.csv's; the
    labs not started are left out of the failure rates."""
    rows = {row["student"]: row for row in batch.read_grades(out / "grades.csv")}
    failed = failed_tests(out)
    students = {a["data-student"]: a for a in page.having("tr", "student")}
    assert sorted(students) == sorted(rows)
    for name, row in rows.items():
        assert students[name]["data-total"] == row["total"], name
        assert students[name]["data-max"] == row["max"], name
        assert students[name]["data-status"] == row["status"], name
        assert students[name]["data-not-started"] == row["not_started"], name
    failed_in_csv, started = {}, {}
    graded = [row for row in rows.values() if row["max"] not in ("", "0")]
    for row in graded:
        for test in failed.get(row["student"], []):
            if test.split(": ", 1)[0] not in row["not_started"].split():
                failed_in_csv[test] = failed_in_csv.get(test, 0) + 1
    tests = {a["data-test"]: a for a in page.having("tr", "test")}
    assert tests, "the page lists no graded test"
    for name, attrs in tests.items():
        lab = name.split(": ", 1)[0]
        started = [row for row in graded if lab not in row["not_started"].split()]
        assert int(attrs["data-failed"]) == failed_in_csv.get(name, 0), name
        assert int(attrs["data-graded"]) == len(started), name
        assert int(attrs["data-not-started"]) == len(graded) - len(started), name
    assert set(failed_in_csv) <= set(tests)
    order = [int(a["data-failed"]) / max(int(a["data-graded"]), 1)
             for a in page.having("tr", "test")]
    assert order == sorted(order, reverse=True), "the tests are not sorted by failure rate"
    histogram = [int(a["data-count"]) for a in page.having("rect", "bar")]
    assert sum(histogram) == sum(len(graded) - int(a["data-not-started"])
                                 for a in page.having("div", "lab"))


def check_links(page: Page, out: Path) -> None:
    assert page.links
    for href in page.links:
        if href.startswith("#"):
            assert href[1:] in page.ids, f"report.html links to {href}, which it does not hold"
        else:
            assert "://" not in href, href
            assert (out / href).is_file(), f"report.html links to {href}, which does not exist"


def peak_zombies(svg: Path) -> int:
    desc = re.search(r"<desc>(.*?)</desc>", svg.read_text()).group(1)
    return max(int(n) for n in re.findall(r"peak (\d+) zombies", desc))


def test_the_report_of_a_class(graded_class):
    kinds, out, rows, proc = graded_class
    assert len(rows) >= 20
    assert "report: " in proc.stdout
    page = Page((out / "report.html").read_text())
    check_against_csv(page, out)
    check_links(page, out)
    failed = failed_tests(out)

    # The reference and the independent solution are at full marks; the
    # mutants fail what they should fail of the selection.
    for student in ("alice", "alice_copy", "carol", "carol_copy"):
        assert rows[student]["total"] == rows[student]["max"] != "0", rows[student]
    reaping = {"lab04_sigchld-if_instead_of_while": "no zombies when many clients leave at once",
               "lab04_sigchld-no_sigchld_handler": "no zombies: each child is reaped when its "
                                                    "client leaves"}
    for student, title in reaping.items():
        assert f"{LAB}: {title}" in failed[student]
    # The handout's stubs: lab04 not started, left out of the failure rates.
    assert rows["handout"]["not_started"] == LAB

    # Apart: the build failure (the handout builds).  A hang and a crash:
    # test_hangs_and_crashes_are_apart.
    apart = {a["data-student"]: a["data-why"] for a in page.having("tr", "apart")}
    assert apart == {"broken": "did not build"}

    # The pitfalls: each failed test links to the pitfall that lists it.
    burst = next(a for a in page.having("tr", "test")
                 if a["data-test"] == f"{LAB}: no zombies when many clients leave at once")
    assert int(burst["data-failed"]) >= 1
    text = (out / "report.html").read_text()
    row = re.search(r'<tr class="test" data-test="lab04_sigchld: no zombies when many clients '
                    r'leave at once".*?</tr>', text).group(0)
    assert 'href="#pitfall-2"' in row and 'id="pitfall-2"' in text


def test_timelines_show_the_zombies_of_the_reaping_mutants(graded_class):
    _kinds, out, _rows, _proc = graded_class
    logs = {student: out / student / "logs" / LAB for student in (
        "lab04_sigchld-if_instead_of_while", "lab04_sigchld-no_sigchld_handler", "alice")}
    burst = "no-zombies-when-many-clients-leave-at-once.svg"
    reaped = "no-zombies-each-child-is-reaped-when-its-client-leaves.svg"
    assert peak_zombies(logs["lab04_sigchld-if_instead_of_while"] / burst) >= 10
    assert peak_zombies(logs["lab04_sigchld-no_sigchld_handler"] / reaped) >= 1
    assert peak_zombies(logs["alice"] / burst) <= 1  # reaped within a sample or so
    text = (out / "report.html").read_text()
    assert f'href="lab04_sigchld-if_instead_of_while/logs/{LAB}/{burst}"' in text
    # A timeline is written for every server test, none for the build.
    assert (logs["alice"] / "server-starts.svg").is_file()
    assert not (logs["alice"] / "builds-warnings-are-errors.svg").exists()


def test_the_similarity_list_names_the_copies_only(graded_class):
    _kinds, out, _rows, _proc = graded_class
    page = Page((out / "report.html").read_text())
    shown = [(a["data-left"], a["data-right"]) for a in page.having("tr", "pair")]
    # The page shows the top pairs of students; similarity.csv holds them all
    # (the 8 identical lab04 files -- alice's and the lab01 mutants' -- come first).
    with open(out / similarity.CSV_NAME) as f:
        pairs = {(row["left"], row["right"]) for row in csv.DictReader(f)}
    assert 0 < len(shown) <= similarity.DEFAULT_TOP and set(shown) <= pairs
    assert ("alice", "alice_copy") in pairs
    assert ("carol", "carol_copy") in pairs
    for left, right in pairs:
        if "carol" in left or "carol" in right:
            assert {left, right} == {"carol", "carol_copy"}, (left, right)
        assert "handout" not in (left, right)
        assert "broken" not in (left, right)
    assert "is not proof of copying" in (out / "report.html").read_text()


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian: apt-get install chromium)")
def test_the_report_in_chromium(graded_class, tmp_path):
    """Chromium opens the page from disk, offline, and renders it: the DOM
    it builds holds the figures of grades.csv, and every link resolves."""
    _kinds, out, _rows, _proc = graded_class
    profile = tmp_path / "profile"
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9", "--dump-dom",
         (out / "report.html").as_uri()],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "<h1>forklab: class report</h1>" in dom
    page = Page(dom)
    check_against_csv(page, out)
    check_links(page, out)
    assert len(re.findall(r"<svg", dom)) >= 2  # the histogram and the failure bars


def test_hangs_and_crashes_are_apart(tmp_path):
    """Students whose grading hung or crashed are listed apart, with why;
    the figures of the others stay theirs."""
    (tmp_path / "dave").mkdir()
    (tmp_path / "dave" / "grade.txt").write_text("Traceback ...\n")
    outcomes = [batch.Outcome("dave", status="error",
                              detail="the grader exited with status 3"),
                batch.Outcome("erin", status="timeout", detail="grading took longer than 90 s")]
    batch.write_csv(tmp_path / "grades.csv", outcomes, [LAB])
    class_report.write(tmp_path, outcomes, [LAB])
    page = Page((tmp_path / "report.html").read_text())
    apart = {a["data-student"]: a["data-why"] for a in page.having("tr", "apart")}
    assert apart == {"dave": "crashed", "erin": "hung"}
    students = {a["data-student"]: a["data-status"] for a in page.having("tr", "student")}
    assert students == {"dave": "error", "erin": "timeout"}
    assert "dave/grade.txt" in page.links
    check_links(page, tmp_path)
    # Not graded: blank in grades.csv and on the page, never 0.
    rows = {row["student"]: row for row in batch.read_grades(tmp_path / "grades.csv")}
    for a in page.having("tr", "student"):
        assert a["data-total"] == rows[a["data-student"]]["total"] == ""
        assert rows[a["data-student"]][LAB] == ""


@pytest.mark.parametrize("args, message", [
    (["--similarity"], "--similarity compares the submissions of a --batch"),
    (["--batch", ".", "--similarity-threshold", "1.5"],
     "--similarity-threshold must be from 0 to 1, not 1.5"),
    (["--similarity-top", "5"], "--similarity compares the submissions of a --batch"),
    (["--batch", ".", "--similarity-top", "-1"], "--similarity-top must be 0 or more, not -1"),
])
def test_similarity_options_are_checked_before_grading(args, message):
    proc = run_grade(*args, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"grade: {message}"
