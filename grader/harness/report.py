"""Renderings of one Grading (results.py), one per platform:

    gradescope_json      Gradescope's results.json (also --batch's per-student file)
    junit_xml            JUnit XML, one suite per lab
    github_summary       Markdown for $GITHUB_STEP_SUMMARY: per-lab points, the tests
    github_annotations   one `::error` workflow command per failed test, with its hint
    github_outputs       key=value lines for $GITHUB_OUTPUT
    prairielearn_json    PrairieLearn's results.json: a 0-1 score and the tests

Each takes the same Grading and recounts nothing.
"""

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from . import kit
from .results import Grading

LABELS = {"passed": "PASS", "failed": "FAIL", "not run": "SKIP"}


# ------------------------------------------------------------------ Gradescope

def gradescope_json(g: Grading) -> dict:
    """tests[] with name, number, score, max_score, status, output; the total
    in score; the seed and per-lab totals in extra_data."""
    tests = [{
        "name": t.name,
        "number": t.number,
        "score": t.points,
        "max_score": t.max_points,
        "status": "passed" if t.status == "passed" else "failed",
        "output": t.details,
        "visibility": "visible",
    } for t in g.tests]
    output = f"forklab grader, seed {g.seed}: {g.score}/{g.max_score}"
    if g.problems:
        output += "\n" + "\n".join(why for _path, why in g.problems)
    data = {
        "score": g.score,
        "execution_time": round(g.seconds, 1),
        "output": output,
        "tests": tests,
        "extra_data": {
            "seed": g.seed,
            "max_score": g.max_score,
            "labs": {lab.lab: {"score": lab.points, "max_score": lab.max_points}
                     for lab in g.labs},
        },
    }
    if g.sandbox is not None:
        data["extra_data"]["sandbox"] = g.sandbox
    if g.load is not None:
        data["extra_data"]["load"] = g.load
    return data


def write_json(path: Path, g: Grading) -> None:
    path.write_text(json.dumps(gradescope_json(g), indent=2) + "\n")


# ----------------------------------------------------------------------- JUnit

def junit_xml(g: Grading) -> ET.Element:
    suites = ET.Element("testsuites")
    for lab in g.labs:
        mine = [t for t in g.tests if t.lab == lab.lab]
        suite = ET.SubElement(suites, "testsuite", name=lab.lab, tests=str(len(mine)),
                              failures=str(lab.failed), skipped=str(lab.not_run),
                              time=f"{sum(t.seconds for t in mine):.3f}")
        for t in mine:
            case = ET.SubElement(suite, "testcase", classname=t.lab, name=t.title,
                                 time=f"{t.seconds:.3f}")
            ET.SubElement(case, "properties").append(
                ET.Element("property", name="points", value=f"{t.points}/{t.max_points}"))
            if t.status == "failed":
                ET.SubElement(case, "failure", message=t.observation.splitlines()[0][:200]
                              if t.observation else "failed").text = t.details
            elif t.status == "not run":
                ET.SubElement(case, "skipped", message=t.observation)
    ET.indent(suites)
    return suites


def write_junit(path: Path, g: Grading) -> None:
    ET.ElementTree(junit_xml(g)).write(path, encoding="unicode", xml_declaration=True)


# ---------------------------------------------------------------------- GitHub

# GitHub takes at most 1 MiB of summary per step: a few kB per failed test.
GITHUB_MAX_DETAILS = 4000


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "\n[... cut]"


def cell(text: str) -> str:
    """Text for one cell of a Markdown table."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def code_block(text: str) -> str:
    """A fenced block that no run of backticks in the text can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def github_summary(g: Grading) -> str:
    """The job summary: the total, per-lab points, every test as in the
    grader's table, then each failed test's observation and hint."""
    lines = [f"## forklab: {g.score}/{g.max_score} points", "",
             "| lab | points | failed | not run |", "|---|---:|---:|---:|"]
    for lab in g.labs:
        title = kit.LABS[lab.lab].title if lab.lab in kit.LABS else ""
        lines.append(f"| {lab.lab}: {cell(title)} | {lab.points}/{lab.max_points} "
                     f"| {lab.failed} | {lab.not_run} |")
    lines += [f"| **total** | **{g.score}/{g.max_score}** | {len(g.failed)} "
              f"| {sum(lab.not_run for lab in g.labs)} |", ""]
    for lab in g.labs:
        full = lab.points == lab.max_points
        lines += [f"<details{'' if full else ' open'}><summary><b>{lab.lab}: "
                  f"{lab.points}/{lab.max_points}</b></summary>", "",
                  "| | points | time | test |", "|---|---:|---:|---|"]
        for t in g.tests:
            if t.lab != lab.lab:
                continue
            title = cell(t.title) + (f" ({cell(t.observation)})" if t.status == "not run" else "")
            lines.append(f"| {LABELS[t.status]} | {t.points}/{t.max_points} "
                         f"| {t.seconds:.2f} s | {title} |")
        lines += ["", "</details>", ""]
    for t in g.failed:
        lines += [f"### FAIL {t.points}/{t.max_points}: {t.name}", "",
                  code_block(clip(t.details, GITHUB_MAX_DETAILS)), ""]
        if t.log:
            lines += [f"Log: `{Path(t.log).name}` in the grade-logs/{t.lab}/ folder of the "
                      "run's artifact.", ""]
    lines += [f"Seed {g.seed}: `grader/grade --seed {g.seed}` replays these inputs; "
              "`make grade` shows the same table on your machine.", ""]
    return "\n".join(lines)


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(g: Grading) -> list:
    """One error annotation per failed test: on the lab's student file, titled
    with the test and its points, carrying what was observed and the hint."""
    lines = []
    for t in g.failed:
        lab = kit.LABS.get(t.lab)
        where = f"file={lab.student_files[0]}," if lab else ""
        first = t.observation.splitlines()[0][:200] if t.observation else "failed"
        title = escape_property(f"{t.name} ({t.points}/{t.max_points})")
        lines.append(f"::error {where}title={title}::"
                     f"{escape_data(f'{first}{chr(10)}hint: {t.hint}')}")
    return lines


def github_outputs(g: Grading) -> str:
    """Step outputs: score, max-score, and each lab's points as LAB=got/max."""
    lines = [f"score={g.score}", f"max-score={g.max_score}"]
    lines += [f"{lab.lab}={lab.points}/{lab.max_points}" for lab in g.labs]
    return "\n".join(lines) + "\n"


def append_text(path: Path, text: str) -> None:
    """GitHub's summary and output files are shared by the job's steps: append."""
    with open(path, "a") as file:
        file.write(text)


# ---------------------------------------------------------------- PrairieLearn

# PrairieLearn takes a results.json of at most 1 MB: room for about a hundred
# tests' texts and the table.
PL_MAX_TEST_OUTPUT = 8000
PL_MAX_OUTPUT = 100_000


def prairielearn_json(g: Grading) -> dict:
    """gradable, score in 0..1, message, output (the table), tests[] with
    name, description, points, max_points, message, output."""
    tests = []
    for t in g.tests:
        if t.status == "passed":
            message = "passed"
        elif t.status == "not run":
            message = t.observation[:200]
        else:
            message = "failed: " + (t.observation.splitlines()[0][:200] if t.observation else "")
        lab = kit.LABS.get(t.lab)
        tests.append({"name": t.name, "description": lab.title if lab else t.lab,
                      "points": t.points, "max_points": t.max_points,
                      "message": message, "output": clip(t.details, PL_MAX_TEST_OUTPUT)})
    return {
        "gradable": True,
        "score": g.score / g.max_score if g.max_score else 0.0,
        "message": f"forklab grader, seed {g.seed}: {g.score}/{g.max_score} points",
        "output": clip(text_table(g), PL_MAX_OUTPUT),
        "tests": tests,
    }


def text_table(g: Grading) -> str:
    """The grader's table in plain text: every test, then each failure's details."""
    lines = []
    for lab in g.labs:
        lines.append(f"== {lab.lab}: {lab.points}/{lab.max_points} ==")
        for t in g.tests:
            if t.lab == lab.lab:
                lines.append(f"  {LABELS[t.status]}  {t.points:>2}/{t.max_points:<2}  {t.title}")
    for t in g.failed:
        lines += ["", f"FAIL {t.name}", t.details]
    lines += ["", f"Score: {g.score}/{g.max_score} (seed {g.seed})"]
    return "\n".join(lines) + "\n"


def write_prairielearn(path: Path, g: Grading) -> None:
    path.write_text(json.dumps(prairielearn_json(g), indent=2) + "\n")
