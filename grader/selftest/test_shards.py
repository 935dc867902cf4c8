"""`grade --batch --shard K/N` and `grade --merge`: a class graded in slices
and joined is the class graded at once; the README's recipes for Slurm,
GitHub Actions and Kubernetes run the shards they say they run."""

import argparse
import csv
import io
import json
import re
import shutil
import subprocess

import pytest
import yaml

import catalogue
from conftest import GRADER_DIR, run_grade

from grader import batch, shards
from grader.forklab_grade import parse_args
from grader.harness.kit import UsageError

README = GRADER_DIR / "README.md"
SEED = 4242
LAB = "lab02_single"  # a quick one


# ------------------------------------------------------ which shard grades whom

@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_every_submission_is_in_exactly_one_shard(count):
    for size in (0, 1, 5, 22):
        names = [f"student{i:02}" for i in range(size)]
        parts = [shards.part(names, shards.Shard(k, count)) for k in range(1, count + 1)]
        assert sorted(n for p in parts for n in p) == names
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
        # Stable: the same class gives the same slices; each slice keeps name order.
        assert parts == [shards.part(list(names), shards.Shard(k, count))
                         for k in range(1, count + 1)]
        assert all(p == sorted(p) for p in parts)


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "2", "a/b", "1/-1", ""])
def test_a_shard_is_k_of_n(text):
    with pytest.raises(argparse.ArgumentTypeError):
        shards.parse_shard(text)
    assert shards.parse_shard("2/8") == shards.Shard(2, 8)


def test_shard_and_merge_options_are_checked_before_grading(tmp_path):
    (tmp_path / "class" / "alice").mkdir(parents=True)
    proc = run_grade("--batch", tmp_path / "class", "--shard", "1/2", "--out", tmp_path / "o")
    assert proc.returncode == 2 and "--shard 1/2 needs --seed" in proc.stderr
    proc = run_grade("--batch", tmp_path / "class", "--shard", "3/2", "--seed", "1")
    assert proc.returncode == 2 and "'3/2' is not K/N" in proc.stderr
    proc = run_grade("--shard", "1/2", "--seed", "1")
    assert proc.returncode == 2 and "--shard K/N grades a slice of a --batch" in proc.stderr
    proc = run_grade("--merge", tmp_path / "class", "--out", tmp_path / "merged")
    assert proc.returncode == 2 and "holds no batch.json" in proc.stderr
    proc = run_grade("--merge", tmp_path / "class", "--lab", LAB, "--out", tmp_path / "m")
    assert proc.returncode == 2 and "--merge takes its labs" in proc.stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "merged").exists()


def manifest(index, count, seed=1, names=("alice", "bob", "carol")):
    mine = shards.part(list(names), shards.Shard(index, count))
    return {"shard": shards.Shard(index, count), "seed": seed, "labs": [LAB],
            "class": list(names), "folder": f"out{index}",
            "outcomes": [{"student": name} for name in mine]}


@pytest.mark.parametrize("manifests, message", [
    ([manifest(1, 2)], "shards missing: 2/2"),
    ([manifest(1, 2), manifest(1, 2)], "shard 1/2 is given twice"),
    ([manifest(1, 2), manifest(2, 2, seed=2)], "differ in their seed"),
    ([manifest(1, 2), manifest(2, 3)], "is a shard of 2, out2 of 3"),
    ([manifest(1, 2), manifest(2, 2, names=("alice", "bob"))], "differ in their class"),
])
def test_merge_refuses_shards_that_do_not_make_one_class(manifests, message):
    with pytest.raises(UsageError, match=message):
        shards.check_shards(manifests)
    shards.check_shards([manifest(1, 2), manifest(2, 2)])


# ------------------------------------------------ two shards joined = one batch

def without_timings(path):
    """grades.csv with its cpu_pressure column (how busy the machine was) blanked."""
    rows = list(csv.reader(io.StringIO(path.read_text(), newline="")))
    column = rows[0].index("cpu_pressure")
    for row in rows[1:]:
        row[column] = ""
    return rows


def observations_blanked(html: str) -> str:
    """report.html without what each failed test observed: ports, pids and
    times of that grading (a grading of the same code again sees others)."""
    return re.sub(r'(<details class="failed"[^>]*>.*?<pre>).*?(</pre>)', r"\1\2", html,
                  flags=re.DOTALL)


def failed_tests(out) -> list:
    """failed_tests.csv's rows as (student, lab, test): its cause may quote
    the ports and pids of the grading."""
    with open(out / batch.FAILED_TESTS, newline="") as f:
        return [(row["student"], row["lab"], row["test"]) for row in csv.DictReader(f)]


def test_two_shards_merged_are_one_batch(tmp_path):
    """Three submissions of lab02 -- the reference and two mutants -- graded
    as one batch with --roster, and as two shards merged: the same grades.csv
    (but the timings) with its lms_id column, the same failed tests, the
    same report.html and similar pairs (but what the failed tests observed:
    the ports and times of each grading).  Then the one batch's own results,
    cut in two shards and merged: the same files, byte for byte."""
    cls = tmp_path / "class"
    catalogue.reference_submission(cls / "alice")
    by_name = {m.name: m for m in catalogue.catalogue()}
    catalogue.apply(by_name["lab02_single/no_reuseaddr"], cls / "bob")
    catalogue.apply(by_name["lab02_single/one_reply_per_connection"], cls / "carol")
    roster = tmp_path / "roster.csv"
    roster.write_text("folder,lms_id\nalice,u1001\nbob,u1002\n")  # carol: none
    common = ["--batch", cls, "--lab", LAB, "--seed", SEED, "--similarity",
              "--similarity-top", "1", "--roster", roster]
    whole = tmp_path / "whole"

    proc = run_grade(*common, "-j", "2", "--out", whole, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for k in (1, 2):
        proc = run_grade(*common, "-j", "1", "--shard", f"{k}/2", "--out", tmp_path / f"s{k}",
                         timeout=900)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"shard {k}/2: {2 if k == 1 else 1} of the class's 3 submissions" in proc.stdout
        # The similarity of the files compares the whole class: the merge's work.
        assert 'id="similarity"' not in (tmp_path / f"s{k}" / "report.html").read_text()
    assert [row["student"] for row in batch.read_grades(tmp_path / "s1" / "grades.csv")] \
        == ["alice", "carol"]

    merged = tmp_path / "merged"
    proc = run_grade("--merge", tmp_path / "s2", tmp_path / "s1", "--out", merged)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "roster: no lms_id for 1 student(s): carol" in proc.stdout
    assert without_timings(merged / "grades.csv") == without_timings(whole / "grades.csv")
    students = {row["student"]: row for row in batch.read_grades(merged / "grades.csv")}
    assert list(students) == ["alice", "bob", "carol"]
    assert [students[name]["lms_id"] for name in students] == ["u1001", "u1002", ""]
    assert students["alice"]["total"] == students["alice"]["max"]
    assert int(students["bob"]["total"]) < int(students["bob"]["max"])
    assert int(students["carol"]["total"]) < int(students["carol"]["max"])
    failed = failed_tests(merged)
    assert failed == failed_tests(whole)
    for name, row in students.items():
        assert int(row["failed"]) == sum(student == name for student, _lab, _test in failed)
    assert students["alice"]["failed"] == "0" and students["bob"]["failed"] != "0"
    report = (merged / "report.html").read_text()
    assert observations_blanked(report) == observations_blanked((whole / "report.html").read_text())
    # --similarity-top 1: one pair of students in the page; similarity.csv has every pair.
    assert report.count('<tr class="pair"') == 1
    assert 'data-file="lab02_single/server.cpp"' in report
    assert (merged / "similarity.csv").read_bytes() == (whole / "similarity.csv").read_bytes()
    for student in ("alice", "bob", "carol"):
        shard = "s2" if student == "bob" else "s1"
        assert (merged / student / "results.json").read_bytes() \
            == (tmp_path / shard / student / "results.json").read_bytes()
    record = json.loads((merged / shards.MANIFEST).read_text())
    assert record["shard"] == [1, 1] and record["seed"] == SEED
    assert record["roster"] == {"alice": "u1001", "bob": "u1002"}
    assert record["similarity_top"] == 1

    # The one batch's results, cut in two shards as --shard would have, then merged.
    record = json.loads((whole / shards.MANIFEST).read_text())
    for k in (1, 2):
        cut = tmp_path / f"cut{k}"
        names = shards.part(record["class"], shards.Shard(k, 2))
        for name in names:
            shutil.copytree(whole / name, cut / name)
        (cut / shards.MANIFEST).write_text(json.dumps(dict(
            record, shard=[k, 2], out=str(cut),
            outcomes=[o for o in record["outcomes"] if o["student"] in names])))
    proc = run_grade("--merge", tmp_path / "cut1", tmp_path / "cut2", "--out", tmp_path / "again")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in sorted({"grades.csv", "report.html"} | {p.name for p in whole.glob("*.csv")}):
        assert (tmp_path / "again" / name).read_bytes() == (whole / name).read_bytes(), name


# --------------------------------------------------------- the README's recipes

def shard_section() -> str:
    text = README.read_text()
    start = text.index("## A class on many machines")
    return text[start:text.index("\n## ", start + 1)]


def blocks(language: str) -> list:
    return re.findall(rf"```{language}\n(.*?)```", shard_section(), re.DOTALL)


def grade_argvs(script: str, env: dict) -> list:
    """The argument lists of every grader/grade in a shell script, as the
    shell expands them with env (grader/grade replaced by a recorder)."""
    recorder = 'grade() { printf "%s\\0" "$@"; printf "\\n\\0"; }\n'
    script = recorder + re.sub(r"(?m)^(\s*)grader/grade\b", r"\1grade", script)
    # Lines that would do more than grade (cd, module load, srun) are the site's own.
    script = re.sub(r"(?m)^\s*(cd|module|srun|mkdir|git|sudo|make)\b.*$", ":", script)
    proc = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    argvs, current = [], []
    for word in proc.stdout.split("\0"):
        if word == "\n":
            argvs.append(current)
            current = []
        elif word:
            current.append(word)
    return argvs


def shards_named(argvs) -> list:
    found = []
    for argv in argvs:
        args = parse_args(argv)
        if args.shard is not None:
            shards.check_options(args)
            found.append(args.shard)
    return found


def check_merge(argvs, count):
    merges = [parse_args(argv) for argv in argvs if "--merge" in argv]
    assert len(merges) == 1, argvs
    shards.check_options(merges[0])
    assert merges[0].out is not None


def test_readme_slurm_array_grades_every_shard_once():
    script = next(b for b in blocks("sh") if "#SBATCH" in b)
    array = re.search(r"#SBATCH --array=0-(\d+)", script)
    count = int(array.group(1)) + 1
    found = []
    for task in range(count):
        found += shards_named(grade_argvs(script, {"SLURM_ARRAY_TASK_ID": str(task),
                                                   "PATH": "/usr/bin:/bin"}))
    assert sorted(found, key=lambda s: s.index) == [shards.Shard(k, count)
                                                    for k in range(1, count + 1)]
    merge = next(b for b in blocks("sh") if "--merge" in b and "#SBATCH" not in b)
    check_merge(grade_argvs(merge, {"PATH": "/usr/bin:/bin"}), count)


def github_expressions(text: str, values: dict) -> str:
    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: str(values[m.group(1)]), text)


def test_readme_github_matrix_grades_every_shard_once():
    workflow = yaml.safe_load(next(b for b in blocks("yaml") if "matrix" in b))
    grade_job = next(j for j in workflow["jobs"].values() if "strategy" in j)
    matrix = grade_job["strategy"]["matrix"]["shard"]
    count = len(matrix)
    found = []
    for value in matrix:
        run = "\n".join(s["run"] for s in grade_job["steps"] if "grader/grade" in s.get("run", ""))
        found += shards_named(grade_argvs(github_expressions(run, {"matrix.shard": value}),
                                          {"PATH": "/usr/bin:/bin"}))
    assert sorted(found, key=lambda s: s.index) == [shards.Shard(k, count)
                                                    for k in range(1, count + 1)]
    merge_job = next(j for j in workflow["jobs"].values() if "needs" in j)
    run = "\n".join(s["run"] for s in merge_job["steps"] if "grader/grade" in s.get("run", ""))
    check_merge(grade_argvs(run, {"PATH": "/usr/bin:/bin"}), count)
    uploads = [s for j in workflow["jobs"].values() for s in j["steps"]
               if s.get("uses", "").startswith(("actions/upload-artifact@",
                                                "actions/download-artifact@"))]
    assert len(uploads) >= 2


def test_readme_kubernetes_indexed_job_grades_every_shard_once():
    job = next(yaml.safe_load(b) for b in blocks("yaml") if "Indexed" in b)
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    count = spec["completions"]
    container = spec["template"]["spec"]["containers"][0]
    command = container["command"]
    assert command[:2] == ["sh", "-c"] or command[:2] == ["bash", "-c"]
    found = []
    for index in range(count):
        found += shards_named(grade_argvs(command[2], {"JOB_COMPLETION_INDEX": str(index),
                                                       "PATH": "/usr/bin:/bin"}))
    assert sorted(found, key=lambda s: s.index) == [shards.Shard(k, count)
                                                    for k in range(1, count + 1)]
