"""--similarity per pair of students, its calibrated default threshold and
the page that does not grow with the class (grader/similarity/similarity.py,
similarity_calibrate.py, similarity_plant.py), without grading anything.

A small class, lab04 and lab05 files only:
- alice: the reference; alice_copy: its planted copy (comments removed, names
  renamed, functions reordered: similarity_plant.py);
- bob: the independent lab04 server (class_batch/), no lab05 file;
  bob_copy: its planted copy;
- four lab04 mutants (the reference a few lines apart: near-copies, listed);
- handout: the stubs.
"""

import csv
import html.parser
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import KIT_ROOT

import catalogue
from grader.selftest import similarity_calibrate
from grader.selftest.similarity_plant import plant, tokens
from grader.similarity import similarity

FILES = ("lab04_sigchld/server.cpp", "lab05_client/client.cpp")
INDEPENDENT = Path(__file__).resolve().parent / "class_batch" / "lab04_independent.cpp"
MUTANTS = ("lab04_sigchld/if_instead_of_while", "lab04_sigchld/blocking_wait_in_handler",
           "lab04_sigchld/parent_keeps_connfd", "lab04_sigchld/no_sigchld_handler")
ALICE = {"alice", "alice_copy"} | {m.replace("/", "-") for m in MUTANTS}
BOB = {"bob", "bob_copy"}


def put(folder: Path, rel: str, text: str) -> None:
    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
    (folder / rel).write_text(text)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    similarity.check_available()  # make deps-similarity
    root = tmp_path_factory.mktemp("similar-class")
    by_name = {m.name: m for m in catalogue.catalogue()}
    for rel in FILES:
        reference = (KIT_ROOT / rel).read_text()
        keep = similarity_calibrate.keep_names(rel)
        put(root / "alice", rel, reference)
        put(root / "alice_copy", rel, plant(reference, keep))
        put(root / "handout", rel, similarity.handout_version(rel))
        for name in MUTANTS:
            mutant = by_name[name]
            put(root / name.replace("/", "-"), rel,
                similarity_calibrate.edited(reference, mutant) if mutant.file == rel
                else reference)
    independent = INDEPENDENT.read_text()
    put(root / "bob", FILES[0], independent)
    put(root / "bob_copy", FILES[0], plant(independent, similarity_calibrate.keep_names(FILES[0])))
    submissions = sorted(p for p in root.iterdir())
    return similarity.compare(submissions, list(FILES))


def test_planted_copies_are_listed_and_honest_pairs_are_not(compared):
    listed = {(p.left, p.right): p for p in compared.students}
    assert ("alice", "alice_copy") in listed
    assert ("bob", "bob_copy") in listed
    for left, right in listed:
        # Two authors who worked apart: never listed at the default threshold.
        assert {left, right} <= ALICE or {left, right} <= BOB, (left, right)
        assert "handout" not in (left, right)
    assert compared.threshold == similarity.DEFAULT_THRESHOLD
    # One row per pair of students, most similar first, with its files.
    copy = listed["alice", "alice_copy"]
    assert [p.file for p in copy.files] == sorted(FILES, key=lambda f: -copy.scores[f])
    assert copy.highest == max(copy.scores.values()) >= similarity.DEFAULT_THRESHOLD
    assert copy.mean == pytest.approx(sum(copy.scores.values()) / 2)
    assert listed["bob", "bob_copy"].scores.keys() == {FILES[0]}  # bob has no lab05 file
    highest = [p.highest for p in compared.students]
    assert highest == sorted(highest, reverse=True)
    # Every pair of students was compared: 9 students, 36 pairs.
    assert compared.compared == 36


class Page(html.parser.HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.rows, self.ids, self.links, self.summary = [], set(), [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "tr" and attrs.get("class") == "pair":
            self.rows.append(attrs)
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        if attrs.get("id") == "similarity-summary":
            self.summary = attrs


def test_the_page_shows_the_top_pairs_and_the_csv_holds_all(compared, tmp_path):
    top = 3
    assert len(compared.students) > top  # the mutants and the reference are near-copies
    page = Page(similarity.report(compared, tmp_path, top=top))
    assert [(r["data-left"], r["data-right"]) for r in page.rows] == \
        [(p.left, p.right) for p in compared.students[:top]]
    assert page.summary["data-listed"] == str(len(compared.students))
    assert page.summary["data-shown"] == str(top)
    for link in page.links:  # every region is linked, every link resolves
        assert link == similarity.CSV_NAME or link[1:] in page.ids, link
    regions = {i for i in page.ids if i.count("-") == 2}
    assert len(regions) == sum(len(p.files) for p in compared.students[:top])
    with open(tmp_path / similarity.CSV_NAME) as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == similarity.CSV_COLUMNS
    in_csv = {(r["left"], r["right"]) for r in rows}
    assert in_csv == {(p.left, p.right) for p in compared.students}
    assert len(rows) == sum(len(p.files) for p in compared.students)
    assert {r["rank"] for r in rows} == {str(n) for n in range(1, len(compared.students) + 1)}
    # More pairs in the class, the same page: it holds the top only (here
    # Result.top, which the batch's option sets).
    bigger = similarity.Result(compared.threshold, compared.pairs,
                               students=compared.students * 5, compared=compared.compared * 5,
                               top=top)
    assert len(Page(similarity.report(bigger, tmp_path)).rows) == top


def test_no_pair_listed(tmp_path):
    text = similarity.report(similarity.Result(0.8, [], problem="similarity not computed: x"),
                             tmp_path)
    assert "similarity not computed: x" in text and "similarity-table" not in text
    assert (tmp_path / similarity.CSV_NAME).read_text().splitlines() == [
        ",".join(similarity.CSV_COLUMNS)]


def test_a_planted_copy_is_disguised_and_compiles(tmp_path):
    rel = "lab05_client/client.cpp"
    original = (KIT_ROOT / rel).read_text()
    keep = similarity_calibrate.keep_names(rel)
    copy = plant(original, keep)
    assert plant(original, keep) == copy  # deterministic
    assert not [t for kind, t in tokens(copy) if kind == "comment"]
    assert "resolve_failed" in original and "resolve_failed" not in copy  # renamed
    heads = [line for line in copy.splitlines() if line and line[0].isalpha() and "(" in line]
    assert heads.index("int main(int argc, char *argv[])") < len(heads) - 1  # reordered
    if shutil.which("g++") is None:
        pytest.skip("needs g++")
    put(tmp_path, rel, copy)
    proc = subprocess.run(["g++", "-std=c++17", "-fsyntax-only", f"-I{KIT_ROOT / 'lab05_client'}",
                           f"-I{KIT_ROOT / 'lab01_wrap'}", str(tmp_path / rel)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_the_default_threshold_is_calibrated():
    """On lab04 (its independent solution: the honest pairs) and lab05 (the
    lowest-scoring planted copies): every planted copy is found with the
    calibration's margin to spare, no honest pair is listed."""
    similarity.check_available()
    result = similarity_calibrate.calibrate(FILES)
    assert result.rate("copy", similarity.DEFAULT_THRESHOLD + similarity_calibrate.MARGIN) == \
        (len(result.of("copy")), len(result.of("copy"))) != (0, 0)
    assert result.rate("honest", similarity.DEFAULT_THRESHOLD) == (0, len(result.of("honest")))
    assert result.of("honest")
    assert result.threshold() >= similarity.DEFAULT_THRESHOLD
