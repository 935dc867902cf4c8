"""Writing results: Gradescope's results.json and JUnit XML."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from .scoring import Result


def totals(results) -> tuple:
    return sum(r.points for r in results), sum(r.max_points for r in results)


def lab_totals(results) -> dict:
    labs = {}
    for r in results:
        got, total = labs.get(r.lab, (0, 0))
        labs[r.lab] = (got + r.points, total + r.max_points)
    return labs


def result_text(r: Result) -> str:
    notes = [f"note: {text}" for text in r.notes]
    if r.status == "passed":
        return "\n".join(notes)
    parts = ([f"cause: {r.cause}"] if r.cause else []) + [r.observed] + notes
    for name, tail in r.output_tails:
        parts.append(f"{name} said:\n{tail}")
    if r.status == "failed":
        parts.append(f"hint: {r.hint}")
    return "\n".join(parts)


def write_json(path: Path, results, *, seed: int, seconds: float, problems=()) -> None:
    """Gradescope's results.json: tests[] with name, score, max_score, status, output."""
    numbers = {}
    tests = []
    lab_index = {lab: i + 1 for i, lab in enumerate(lab_totals(results))}
    for r in results:
        numbers[r.lab] = numbers.get(r.lab, 0) + 1
        tests.append({
            "name": f"{r.lab}: {r.title}",
            "number": f"{lab_index[r.lab]}.{numbers[r.lab]}",
            "score": r.points,
            "max_score": r.max_points,
            "status": "passed" if r.status == "passed" else "failed",
            "output": result_text(r),
            "visibility": "visible",
        })
    got, total = totals(results)
    output = f"forklab grader, seed {seed}: {got}/{total}"
    if problems:
        output += "\n" + "\n".join(problems)
    data = {
        "score": got,
        "execution_time": round(seconds, 1),
        "output": output,
        "tests": tests,
        "extra_data": {
            "seed": seed,
            "max_score": total,
            "labs": {lab: {"score": g, "max_score": t} for lab, (g, t) in lab_totals(results).items()},
        },
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


def write_junit(path: Path, results) -> None:
    suites = ET.Element("testsuites")
    for lab in lab_totals(results):
        mine = [r for r in results if r.lab == lab]
        suite = ET.SubElement(suites, "testsuite", name=lab, tests=str(len(mine)),
                              failures=str(sum(r.status == "failed" for r in mine)),
                              skipped=str(sum(r.status == "not run" for r in mine)),
                              time=f"{sum(r.seconds for r in mine):.3f}")
        for r in mine:
            case = ET.SubElement(suite, "testcase", classname=lab, name=r.title,
                                 time=f"{r.seconds:.3f}")
            ET.SubElement(case, "properties").append(
                ET.Element("property", name="points", value=f"{r.points}/{r.max_points}"))
            if r.status == "failed":
                ET.SubElement(case, "failure", message=r.observed.splitlines()[0][:200]
                              if r.observed else "failed").text = result_text(r)
            elif r.status == "not run":
                ET.SubElement(case, "skipped", message=r.observed)
    ET.indent(suites)
    ET.ElementTree(suites).write(path, encoding="unicode", xml_declaration=True)
