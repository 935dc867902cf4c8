"""The instructor's triage of a batch: grades.csv for an LMS (a max row,
blank where nothing was graded, --roster's lms_id), failed_tests.csv, and
report.html's students lowest first, low totals marked, labs not started
apart, the causes counted over the class (cascades under their cause), and
readable at 1280 px in Chromium.

One small class, graded once for the module (lab01 and lab02, two at a
time, about a minute):

- alice: the reference;
- hana: the handout, every lab a stub (not started: its files are the
  handout's);
- nell: the reference's lab01, and lab02's stub with a comment of hers
  (not started: its failures name only lab02's own stubs);
- olga: lab01's stub, lab02's reference (lab01 not started; lab02 started,
  failing at lab01's stubs);
- wendy: a lab01 Writen that writes through a null pointer (a crash, and a
  second test failed with the same cause);
- fred: a lab02 server that binds port 6666 whatever it is told (the same).
"""

import csv
import json
from html import escape
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

import catalogue
from conftest import KIT_ROOT, run_grade
from test_class_report import Page

from grader import batch, class_report
from tools.make_handout import make_handout

LABS = ["lab01_wrap", "lab02_single"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROSTER = "folder,lms_id\nalice,A-1\nhana,H-2\nnell,N-3\nwendy,W-4\nfred,F-5\nzed,Z-9\n"
NOT_STARTED = {"alice": "", "hana": "lab01_wrap lab02_single", "nell": "lab02_single",
               "olga": "lab01_wrap", "wendy": "", "fred": ""}


def make_class(folder: Path, scratch: Path) -> None:
    handout = make_handout(KIT_ROOT, scratch / "dist", tarball=False)
    beginners = {m.name: m for m in catalogue.catalogue(catalogue.BEGINNERS_DIR)}
    catalogue.reference_submission(folder / "alice")
    for student in ("hana", "nell", "olga"):
        catalogue.reference_submission(folder / student)
    for rel in ("lab01_wrap/wrap.cpp", "lab02_single/server.cpp"):
        shutil.copy(handout / rel, folder / "hana" / rel)
    stub = (handout / "lab02_single" / "server.cpp").read_text()
    (folder / "nell" / "lab02_single" / "server.cpp").write_text(
        "// nell: I will start this after the midterm\n" + stub)
    shutil.copy(handout / "lab01_wrap" / "wrap.cpp", folder / "olga" / "lab01_wrap")
    catalogue.apply(beginners["lab01_wrap/writen_through_null"], folder / "wendy")
    catalogue.apply(beginners["lab02_single/fixed_port"], folder / "fred")


@pytest.fixture(scope="module")
def triage(tmp_path_factory):
    root = tmp_path_factory.mktemp("triage")
    make_class(root / "class", root)
    (root / "roster.csv").write_text(ROSTER)
    out = root / "grades"
    proc = run_grade("--batch", root / "class", "--out", out, "-j", "2",
                     *[arg for lab in LABS for arg in ("--lab", lab)],
                     "--roster", root / "roster.csv", "--seed", "2026", timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out / "grades.csv", newline="") as f:
        table = list(csv.reader(f))
    rows = {row["student"]: row for row in batch.read_grades(out / "grades.csv")}
    with open(out / "failed_tests.csv", newline="") as f:
        failed = list(csv.DictReader(f))
    page = Page((out / "report.html").read_text())
    return out, proc, table, rows, failed, page


def failed_in_results(out: Path, student: str) -> list:
    """The failed tests (not those not run) of a student's results.json, in order."""
    data = json.loads((out / student / "results.json").read_text())
    return [t["name"] for t in data["tests"]
            if t["status"] == "failed" and not t["output"].startswith("not run")]


# ---------------------------------------------------------------- grades.csv

def test_grades_csv_is_ready_for_an_lms(triage):
    out, proc, table, rows, _failed, _page = triage
    header, maxima = table[0], dict(zip(table[0], table[1]))
    assert header[:2] == ["student", "lms_id"]
    assert header[2:8] == ["lab01_wrap", "lab02_single", "lab03_fork", "lab04_sigchld",
                           "lab05_client", "lab06_limits"]  # every lab of the kit, in order
    assert "failed_tests" not in header and "failed" in header
    # The first data row: each lab's maximum; blank for the labs not in the run.
    assert maxima["student"] == "max" and maxima["status"] == ""
    assert int(maxima["lab01_wrap"]) > 0 and int(maxima["lab02_single"]) > 0
    assert [maxima[lab] for lab in header[4:8]] == ["", "", "", ""]
    assert int(maxima["total"]) == int(maxima["lab01_wrap"]) + int(maxima["lab02_single"])
    assert rows["alice"]["total"] == rows["alice"]["max"] == maxima["total"]
    for row in rows.values():
        assert [row[lab] for lab in header[4:8]] == ["", "", "", ""], row  # not in the run
        assert row["lab01_wrap"] != "" and row["lab02_single"] != ""
        assert row["not_started"] == NOT_STARTED[row["student"]], row
    # --roster: the LMS ids; a student the roster lacks is blank, and said.
    assert {name: row["lms_id"] for name, row in rows.items()} == {
        "alice": "A-1", "hana": "H-2", "nell": "N-3", "olga": "", "wendy": "W-4", "fred": "F-5"}
    assert "roster: no lms_id for 1 student(s): olga" in proc.stdout


def test_failed_tests_have_their_own_csv_with_their_causes(triage):
    out, _proc, _table, rows, failed, _page = triage
    for student, row in rows.items():
        mine = [f"{r['lab']}: {r['test']}" for r in failed if r["student"] == student]
        assert mine == failed_in_results(out, student), student
        assert int(row["failed"]) == len(mine)
    # lab01's tests force short writes: wendy's Writen crashes in two (her
    # lab02 may crash too, when the machine makes a write short).
    wendy = [r for r in failed if r["student"] == "wendy" and r["lab"] == "lab01_wrap"]
    assert len(wendy) == 2
    assert all("died of SIGSEGV" in r["cause"] and "wrap.cpp:" in r["cause"] for r in wendy)
    assert [r["same_cause_as"] for r in wendy] == ["", wendy[0]["test"]]
    fred = [r for r in failed if r["student"] == "fred"]
    assert [r["test"] for r in fred if r["same_cause_as"]] != []
    assert all("6666" in r["cause"] for r in fred)


def test_a_lab_not_graded_is_blank_not_zero(tmp_path):
    """A hung grading, a crashed one: blank cells, never 0; so is a lab not
    in the run.  (No grading: the outcomes are made here.)"""
    graded = batch.Outcome("ann", score=3, max_score=5, labs={"lab01_wrap": 3},
                           lab_max={"lab01_wrap": 5}, failed=["lab01_wrap: x"],
                           tests=[{"lab": "lab01_wrap", "title": "x", "status": "failed",
                                   "points": 0, "max_points": 2, "cause": "", "hint": "",
                                   "same_cause_as": ""}])
    hung = batch.Outcome("bea", status="timeout", detail="grading took longer than 90 s")
    crashed = batch.Outcome("cid", status="error", detail="the grader exited with status 3")
    batch.write_csv(tmp_path / "grades.csv", [graded, hung, crashed], ["lab01_wrap"])
    rows = {row["student"]: row for row in batch.read_grades(tmp_path / "grades.csv")}
    assert rows["ann"]["lab01_wrap"] == "3" and rows["ann"]["lab02_single"] == ""
    for student in ("bea", "cid"):
        row = rows[student]
        assert [row[k] for k in ("lab01_wrap", "total", "max", "failed", "not_run")] == \
            ["", "", "", "", ""], row
    with open(tmp_path / "failed_tests.csv", newline="") as f:
        assert list(csv.reader(f)) == [["student", "lab", "test", "cause", "same_cause_as"],
                                       ["ann", "lab01_wrap", "x", "", ""]]


# --------------------------------------------------------------- report.html

def test_students_lowest_first_low_totals_marked(triage):
    out, _proc, _table, rows, _failed, page = triage
    students = page.having("tr", "student")
    totals = [int(a["data-total"]) for a in students]
    assert totals == sorted(totals), "the students are not sorted lowest total first"
    for a in students:
        row = rows[a["data-student"]]
        assert a["data-total"] == row["total"] and a["data-max"] == row["max"]
        low = int(row["total"]) < class_report.LOW_SHARE * int(row["max"])
        assert a["data-low"] == str(int(low)), a
    assert {a["data-student"] for a in students if a["data-low"] == "1"} >= {"hana", "olga"}
    text = (out / "report.html").read_text()
    assert "below 50 % of the maximum" in text  # the legend states the fraction
    script = text.split("<script>")[1].split("</script>")[0]  # one inline script
    assert "://" not in script and "<script src" not in text and "<link" not in text
    assert 'class="sortable"' in text


def test_labs_not_started_are_shown_apart(triage):
    _out, _proc, _table, rows, failed, page = triage
    states, current = {}, None
    for tag, a in page.data:
        if tag == "tr" and a.get("class") == "student":
            current = a["data-student"]
            assert a["data-not-started"] == NOT_STARTED[current]
        if tag == "td" and "data-state" in a:
            states.setdefault(current, {})[a["data-lab"]] = a["data-state"]
    for student, labs in NOT_STARTED.items():
        for lab in LABS:
            assert states[student][lab] == ("not-started" if lab in labs.split()
                                             else "graded"), (student, lab)
    # The failure rates count the students who started the lab only.
    started = {lab: [s for s in rows if lab not in NOT_STARTED[s].split()] for lab in LABS}
    for a in page.having("tr", "test"):
        lab = a["data-test"].split(": ", 1)[0]
        assert int(a["data-graded"]) == len(started[lab]), a
        assert int(a["data-not-started"]) == len(rows) - len(started[lab]), a
        failures = sum(1 for r in failed if f"{r['lab']}: {r['test']}" == a["data-test"]
                       and r["student"] in started[lab])
        assert int(a["data-failed"]) == failures, a
    socket = next(a for a in page.having("tr", "test")
                  if a["data-test"] == "lab01_wrap: Socket: returns a TCP socket")
    assert socket["data-failed"] == "0"  # hana's and olga's stubs are not failures


def test_causes_counted_over_the_class_cascades_under_their_cause(triage):
    out, _proc, _table, rows, failed, page = triage
    causes = page.having("tr", "cause")
    counted = [r for r in failed if r["lab"] not in NOT_STARTED[r["student"]].split()]
    assert sum(int(a["data-tests"]) for a in causes) == len(counted)
    assert sum(int(a["data-cascades"]) for a in causes) == sum(
        bool(r["same_cause_as"]) for r in counted)
    crash = [a for a in causes if "died of SIGSEGV" in a["data-cause"]
             and a["data-labs"] == "lab01_wrap"]
    assert len(crash) == 1 and crash[0]["data-students"] == "1"
    assert (crash[0]["data-tests"], crash[0]["data-cascades"]) == ("2", "1")
    port = [a for a in causes if "bound port #, not port #" in a["data-cause"]]
    assert len(port) == 1 and int(port[0]["data-cascades"]) >= 1
    # olga's lab02 fails at lab01's stubs: a cause of lab02 (lab01 not started).
    stubs = [a for a in causes if "stopped at a stub" in a["data-cause"]]
    assert [a["data-labs"] for a in stubs] == ["lab02_single"]
    assert stubs[0]["data-students"] == "1"
    # Each cause comes with the hint the grader gave with it.
    data = json.loads((out / "wendy" / "results.json").read_text())
    hint = next(t["output"] for t in data["tests"] if "SIGSEGV" in t["output"])
    hint = hint.rsplit("\nhint: ", 1)[1].strip()
    text = (out / "report.html").read_text()
    row = re.search(r'<tr class="cause" data-cause="[^"]*SIGSEGV[^"]*"[^>]*'
                    r'data-labs="lab01_wrap">.*?</tr>', text).group(0)
    assert escape(hint) in row


def test_the_not_started_rule(tmp_path):
    """The rule of grader/README.md, "Class report", case by case."""
    rel = "lab02_single/server.cpp"
    stub = batch.handout_text(rel)
    assert stub is not None and "not_implemented(" in stub
    sub = tmp_path / "sub"
    (sub / "lab02_single").mkdir(parents=True)
    lab = "lab02_single"
    builds = {"lab": lab, "title": "builds (warnings are errors)", "status": "passed"}

    def failing(text, cause="", stub_named=None):
        return {"lab": lab, "title": text, "status": "failed", "cause": cause,
                "stub": batch.names_own_stub(text + "\n" + cause, lab)
                if stub_named is None else stub_named}

    tests = [builds, failing("x")]
    assert batch.not_started(lab, tests, sub)  # the file is missing
    (sub / rel).write_text("\n\n" + stub.replace("\n", "  \n"))
    assert batch.not_started(lab, tests, sub)  # the handout's, whitespace aside
    (sub / rel).write_text("// started\n" + stub)
    assert not batch.not_started(lab, tests, sub)  # changed: the tests decide
    own = "the server stopped at a stub: 'lab02: main is not implemented yet' (it exited)"
    other = "the server stopped at a stub: 'lab01: Socket is not implemented yet' (it exited)"
    assert batch.not_started(lab, [builds, failing("a", own), failing("b")], sub)
    assert not batch.not_started(lab, [builds, failing("a", other)], sub)
    assert not batch.not_started(lab, [builds, failing("a", own), failing("b", "a crash")], sub)
    passed = {"lab": lab, "title": "server starts", "status": "passed"}
    assert not batch.not_started(lab, [builds, passed, failing("a", own)], sub)
    assert not batch.not_started(lab, [builds, failing("b")], sub)  # no stub named


@pytest.mark.parametrize("roster, message", [
    ("alice,A-1\nalice,A-2\n", ":2: the folder alice is in the roster twice"),
    ("alice,A-1,extra\n", ":1: expected 'folder,lms_id', got alice,A-1,extra"),
    (None, "cannot read the roster"),
])
def test_a_bad_roster_is_refused_before_grading(tmp_path, roster, message):
    (tmp_path / "class" / "alice").mkdir(parents=True)
    path = tmp_path / "roster.csv"
    if roster is not None:
        path.write_text(roster)
    proc = run_grade("--batch", tmp_path / "class", "--out", tmp_path / "out",
                     "--roster", path, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert not (tmp_path / "out").exists()


def test_roster_needs_a_batch(tmp_path):
    proc = run_grade("--roster", tmp_path / "roster.csv", timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "grade: --roster gives the LMS ids of the students of a --batch"


# ------------------------------------------------------------------ Chromium

# Appended to a copy of report.html: every <details> opened (the widest the
# page gets), then what overflows at the window's width, and the order of
# the students after clicks on column headings, written into the page.
PROBE = """<script>
(function () {
  var out = {}, root = document.documentElement;
  document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  out.viewport = root.clientWidth;
  out.page = root.scrollWidth;
  out.tables = Array.prototype.map.call(document.querySelectorAll("table"), function (t) {
    return {id: t.id, right: t.getBoundingClientRect().right, scroll: t.scrollWidth,
            client: t.clientWidth};
  });
  out.wide = Array.prototype.filter.call(document.querySelectorAll("pre, td"), function (e) {
    return e.scrollWidth > e.clientWidth + 1;
  }).length;
  function order() {
    return Array.prototype.map.call(
      document.querySelectorAll("#student-table tbody tr"), function (r) {
        return r.getAttribute("data-student"); });
  }
  var heads = document.querySelectorAll("#student-table thead th");
  var total = Array.prototype.filter.call(heads, function (h) {
    return h.textContent.indexOf("total") === 0; })[0];
  out.initial = order();
  heads[0].click(); out.byName = order();
  heads[0].click(); out.byNameDown = order();
  total.click(); out.byTotal = order();
  var probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify(out);
  document.body.appendChild(probe);
})();
</script>"""


def chromium(page: Path, profile: Path, *options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--hide-scrollbars", f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
         *options, page.as_uri()],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian: apt-get install chromium)")
def test_readable_and_sortable_at_1280_px_in_chromium(triage, tmp_path):
    out, _proc, _table, rows, _failed, _page = triage
    probe = out / "report-probe.html"
    probe.write_text((out / "report.html").read_text().replace("</body>", PROBE + "</body>"))
    try:
        proc = chromium(probe, tmp_path / "profile", "--window-size=1280,900", "--dump-dom")
        assert proc.returncode == 0, proc.stderr[-2000:]
        found = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
        assert found, proc.stdout[-2000:]
        seen = json.loads(found.group(1).replace("&amp;", "&").replace("&quot;", '"')
                          .replace("&lt;", "<").replace("&gt;", ">"))
        assert 1200 <= seen["viewport"] <= 1280, seen
        assert seen["page"] <= seen["viewport"], seen  # no horizontal scrolling
        for table in seen["tables"]:
            assert table["right"] <= seen["viewport"] + 0.5, table
            assert table["scroll"] <= table["client"] + 1, table
        assert seen["wide"] == 0, seen  # no cell or <pre> cut off
        totals = {name: int(row["total"]) for name, row in rows.items()}
        assert [totals[s] for s in seen["initial"]] == sorted(totals.values())
        assert seen["byName"] == sorted(rows)
        assert seen["byNameDown"] == sorted(rows, reverse=True)
        assert [totals[s] for s in seen["byTotal"]] == sorted(totals.values())

        shot = tmp_path / "report-1280.png"
        proc = chromium(probe, tmp_path / "profile", "--window-size=1280,2000",
                        f"--screenshot={shot}")
        assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
        width, _height = struct.unpack(">II", shot.read_bytes()[16:24])  # PNG's IHDR
        assert width == 1280
    finally:
        probe.unlink(missing_ok=True)
