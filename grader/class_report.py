"""The instructor's view of a batch: OUT/report.html.

Written at the end of every `grader/grade --batch` (batch.py calls write()),
from the batch's outcomes (grades.csv's and failed_tests.csv's rows: the
tests, their causes, the labs not started) and each student's results.json,
the Gradescope rendering of the grader's results (harness/report.py).  One
self-contained page -- inline CSS, SVG and one small script (sorting), no
network -- that opens from disk, made for triage:

- apart: the students whose grading crashed, hung, or whose labs did not
  build;
- the students, lowest total first, those below LOW_SHARE of the maximum
  marked; a lab not started (batch.not_started()) shown as such; each
  column sorts on a click on its heading; per student the failed tests, with
  what was observed and links to their results.json, grade.txt, the failed
  tests' logs and the timelines of the failed server tests
  (harness/timeline.py);
- the causes the grader named, counted over the class: a test failed with
  the same cause as an earlier one of its lab (a cascade) counts under that
  cause;
- every graded test with the share of the students who started its lab that
  failed it, most failed first, each linked to the pitfall of the kit's
  PITFALLS.md it shows;
- the score distribution of each lab;
- with --similarity: the pairs of students whose files are alike
  (similarity/similarity.py).

Every figure the page shows carries it in a data-* attribute as well, so the
selftests can hold it against grades.csv and failed_tests.csv.
"""

import json
import re
from html import escape
from pathlib import Path

from grader.harness.scoring import slug
from grader.i18n import _
# The causes grouped over the class, the page's drawing, and the grader's
# hooks (--similarity): modules of their own, their names importable from here.
from grader.class_report_causes import (  # noqa: F401
    QUOTED, Cause, cause_key, class_causes, without_said)
from grader.class_report_drawing import CSS, SCRIPT, bar, histogram, markdown_code, percent
from grader.class_report_similarity import (  # noqa: F401
    add_options, check_options, write_for_batch)

KIT_ROOT = Path(__file__).resolve().parent.parent
PITFALLS = KIT_ROOT / "PITFALLS.md"
BUILDS = "builds"  # the title every lab's build test starts with
# A total (or a lab's points) below this share of its maximum is marked low.
LOW_SHARE = 0.5


# ------------------------------------------------------------------ pitfalls

def read_pitfalls(path: Path = PITFALLS) -> dict:
    """{number: {"title", "labs", "tests", "text"}} from the catalogue:
    `## N. title`, then `- lab: ...` and `- graded test: \\`a\\`, \\`b\\``."""
    pitfalls, current = {}, None
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    for line in lines:
        head = re.match(r"## (\d+)\. (.*)", line)
        if head:
            current = {"title": head.group(2).strip(), "labs": [], "tests": [], "text": []}
            pitfalls[int(head.group(1))] = current
        elif current is None:
            continue
        elif line.startswith("- lab:"):
            current["labs"] = [lab.strip() for lab in line[6:].split(",")]
        elif line.startswith("- graded test:"):
            current["tests"] = re.findall(r"`([^`]+)`", line)
        elif not line.startswith(("- ", "<!--")) and (line.strip() or current["text"]):
            if not any(text == "" for text in current["text"]):
                current["text"].append(line.strip())
    for p in pitfalls.values():
        p["text"] = " ".join(t for t in p["text"] if t)
    return pitfalls


def pitfalls_of(lab: str, title: str, pitfalls: dict) -> list:
    """The numbers of the pitfalls whose graded tests include this title;
    those of the test's lab first."""
    found = [n for n, p in pitfalls.items() if title in p["tests"]]
    return sorted(found, key=lambda n: (lab not in pitfalls[n]["labs"], n))


# --------------------------------------------------------------- the batch

class Student:
    def __init__(self, outcome, out: Path):
        self.name = outcome.student
        self.outcome = outcome
        self.folder = out / outcome.student
        self.tests = list(outcome.tests)  # batch.Outcome.tests: dicts
        self.has_results = bool(outcome.labs) and bool(self.tests)
        self.not_started = set(outcome.not_started)
        self._outputs = None

    def started(self, lab) -> bool:
        return self.has_results and lab in self.outcome.labs and lab not in self.not_started

    def failed(self, started_only=False) -> list:
        return [t for t in self.tests if t["status"] == "failed"
                and (not started_only or t["lab"] not in self.not_started)]

    def build_failures(self) -> list:
        return [t["lab"] for t in self.failed() if t["title"].startswith(BUILDS)]

    def output(self, test) -> str:
        """What the test's results.json entry says it observed (no hint)."""
        if self._outputs is None:
            self._outputs = {}
            try:
                data = json.loads((self.folder / "results.json").read_text())
                self._outputs = {t["name"]: t["output"] for t in data["tests"]}
            except (OSError, ValueError, LookupError, TypeError, AttributeError):
                pass
        return observed_in(self._outputs.get(f"{test['lab']}: {test['title']}", ""))

    def low(self) -> bool:
        o = self.outcome
        return self.has_results and o.max_score > 0 and o.score < LOW_SHARE * o.max_score

    def link(self, *parts) -> str:
        """A link relative to report.html, if that file exists."""
        path = self.folder.joinpath(*parts)
        return "/".join((self.name, *parts)) if path.is_file() else ""


def observed_in(output: str) -> str:
    """A failed test's output without its hint (in the grader's language)."""
    for prefix in dict.fromkeys(("hint: ", _("hint: "))):
        at = output.rfind("\n" + prefix)
        if at >= 0:
            return output[:at]
    return output


def _lab_max(students, lab) -> int:
    for s in students:
        if lab in s.outcome.lab_max:
            return s.outcome.lab_max[lab]
    return 0


# ------------------------------------------------------------------- report

def write(out: Path, outcomes: list, labs: list, similarity=None, seed=None) -> Path:
    """Write out/report.html; similarity: the similarity.Result of
    similarity.compare() (its top pairs of students shown, every pair in
    out/similarity.csv), or None when --similarity was not given."""
    students = [Student(o, out) for o in outcomes]
    pitfalls = read_pitfalls()
    html = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>forklab: class report</title><style>{CSS}</style></head><body>",
            "<h1>forklab: class report</h1>",
            f"<p>{len(students)} submissions, labs {escape(', '.join(labs))}"
            + (f", seed {seed}" if seed is not None else "")
            + '. The figures are those of <a href="grades.csv">grades.csv</a> and '
              '<a href="failed_tests.csv">failed_tests.csv</a>.</p>']
    cited = set()
    causes = class_causes(students)
    html += _summary(students, labs, causes)
    html += _apart(students)
    html += _students(students, labs, pitfalls, cited)
    html += _causes(causes)
    html += _tests(students, pitfalls, cited)
    html += _distribution(students, labs)
    if similarity is not None:
        from grader.similarity.similarity import report as similarity_section
        html.append(similarity_section(similarity, out))  # also writes similarity.csv
    html += _pitfalls(pitfalls, cited)
    html.append(f"<script>{SCRIPT}</script></body></html>\n")
    path = out / "report.html"
    path.write_text("\n".join(html))
    return path


def _summary(students, labs, causes) -> list:
    graded = [s for s in students if s.has_results]
    low = [s for s in graded if s.low()]
    apart = [s for s in students if s.outcome.status != "ok"]
    not_started = sum(len(s.not_started) for s in graded)
    named = [c for c in causes if c.key]
    items = [f'<li data-count="{len(low)}" id="summary-low"><span class="low-mark">▼</span> '
             f"{len(low)} of {len(graded)} graded below {percent(LOW_SHARE)} of the maximum</li>",
             f'<li data-count="{len(apart)}" id="summary-apart">{len(apart)} not graded fully '
             f'(<a href="#apart">apart</a>)</li>',
             f'<li data-count="{not_started}" id="summary-not-started">{not_started} '
             f"lab{'s' if not_started != 1 else ''} not started</li>"]
    if named:
        top, many = named[0], len(named[0].students)
        items.append(f'<li id="summary-causes" data-count="{len(named)}">{len(named)} '
                     f"cause{'s' if len(named) != 1 else ''} named by the grader; the most "
                     f"common, for {many} student{'s' if many != 1 else ''}: "
                     f'<a href="#causes">{escape(_clip(top.example, 160))}</a></li>')
    return ["<ul class=\"summary\">" + "".join(items) + "</ul>",
            '<p class="legend"><span class="low-mark">▼</span> <b>low</b>: a total below '
            f"{percent(LOW_SHARE)} of the maximum (a lab's points below {percent(LOW_SHARE)} of "
            'its maximum are marked in its cell). <span class="not-started">not started</span>: '
            "the lab's student file is missing or the handout's unchanged (whitespace aside), "
            "or no test of it passed but the build and its failures name only its own stubs "
            "(\"lab02: main is not implemented yet\"); its tests are left out of the failure "
            "rates and the causes. A blank cell: not graded (the grading hung or failed, or the "
            "lab was not in this run). Click a column's heading to sort by it.</p>",
            '<p><a href="#apart">Not graded fully</a> · <a href="#students">Students</a> · '
            '<a href="#causes">Causes</a> · <a href="#tests">Tests</a> · '
            '<a href="#distribution">Score distribution</a></p>']


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _distribution(students, labs) -> list:
    html = ["<h2 id=\"distribution\">Score distribution</h2>",
            "<p>Of the students graded who started the lab.</p>", '<div class="labs">']
    graded = [s for s in students if s.has_results]
    for lab in labs:
        top = _lab_max(graded, lab)
        started = [s for s in graded if s.started(lab)]
        scores = [s.outcome.labs.get(lab, 0) for s in started]
        mean = sum(scores) / len(scores) if scores else 0
        idle = sum(lab in s.not_started for s in graded)
        html.append(f'<div class="lab" data-lab="{escape(lab)}" data-max="{top}" '
                    f'data-not-started="{idle}">'
                    f"<h3>{escape(lab)}</h3>{histogram(scores, top, lab)}"
                    f"<p>{len(scores)} graded, {idle} not started, mean {mean:.1f} of {top}, "
                    f"{sum(sc == top for sc in scores)} at full marks</p></div>")
    html.append("</div>")
    return html


def _causes(causes) -> list:
    html = ["<h2 id=\"causes\">Causes</h2>",
            "<p>The causes the grader named for the failed tests (the \"cause:\" line), over "
            "the class, most students first. Two students' causes are one when their texts "
            "differ only in numbers (pids, ports, lines), quoted names and the program's last "
            "output. A test failed with the same cause as an earlier test of its lab (a "
            "cascade: \"the same cause as ...\") counts under that cause, not as a failure of "
            "its own. The labs not started are left out. The kit maps its graded tests to "
            "<code>PITFALLS.md</code> (see <a href=\"#tests\">Tests</a>), not causes: each "
            "cause comes with the hint the grader gave with it.</p>"]
    if not causes:
        html.append("<p>No test failed in a lab that was started.</p>")
        return html
    html.append("<table id=\"cause-table\" class=\"sortable\"><thead><tr><th>cause</th>"
                "<th>students</th><th>failed tests</th><th>of which cascades</th>"
                "<th>hint</th></tr></thead><tbody>")
    for c in causes:
        names = ", ".join(c.students)
        if c.key:
            text = (f"{escape(c.example)}<br><small class=\"muted\">first seen: "
                    f"{escape(c.where)}</small>")
            hint = (f'<details><summary class="hint">{escape(_clip(c.hint, 90))}</summary>'
                    f'<p class="hint">{escape(c.hint)}</p></details>' if c.hint else "")
        else:
            text = ("<span class=\"muted\">no cause named: the tests' own observations "
                    "(see the students' failed tests)</span>")
            hint = ""
        html.append(f'<tr class="cause" data-cause="{escape(c.key)}" '
                    f'data-students="{len(c.students)}" data-tests="{c.tests}" '
                    f'data-cascades="{c.cascades}" data-labs="{escape(" ".join(c.labs))}">'
                    f"<td>{text}</td>"
                    f'<td class="num" data-sort="{len(c.students)}"><details><summary>'
                    f"{len(c.students)}</summary><small>{escape(names)}</small></details></td>"
                    f'<td class="num">{c.tests}</td><td class="num">{c.cascades}</td>'
                    f"<td>{hint}</td></tr>")
    html.append("</tbody></table>")
    return html


def _tests(students, pitfalls, cited) -> list:
    graded = [s for s in students if s.has_results]
    counts = {}  # (lab, title) -> [failed, not run, graded and started, cascades, not started]
    for s in graded:
        for t in s.tests:
            c = counts.setdefault((t["lab"], t["title"]), [0, 0, 0, 0, 0])
            if t["lab"] in s.not_started:
                c[4] += 1
                continue
            c[2] += 1
            c[0] += t["status"] == "failed"
            c[1] += t["status"] == "not run"
            c[3] += t["status"] == "failed" and bool(t.get("same_cause_as"))
    rows = sorted(counts.items(), key=lambda kv: (-kv[1][0] / max(kv[1][2], 1), kv[0]))
    html = ["<h2 id=\"tests\">Tests: what the class got wrong</h2>",
            "<p>Each graded test, most failed first: how many of the graded students who "
            "started its lab failed it (a test not run because one it needs failed is counted "
            "apart; so are the students who did not start the lab), how many of those "
            "failures had the same cause as an earlier test of the lab, and the pitfall of "
            "the kit's <code>PITFALLS.md</code> it shows.</p>",
            "<table id=\"test-table\" class=\"sortable\"><thead><tr><th>test</th>"
            "<th>failed</th><th>rate</th><th>cascades</th><th>not run</th><th>not started</th>"
            "<th>pitfall</th></tr></thead><tbody>"]
    for (lab, title), (failed, not_run, total, cascades, idle) in rows:
        share = failed / total if total else 0
        numbers = pitfalls_of(lab, title, pitfalls)
        cited.update(numbers)
        links = ", ".join(f'<a href="#pitfall-{n}">{n}. {markdown_code(pitfalls[n]["title"])}</a>'
                          for n in numbers) or '<span class="muted">none listed</span>'
        html.append(f'<tr class="test" data-test="{escape(lab)}: {escape(title)}" '
                    f'data-failed="{failed}" data-not-run="{not_run}" data-graded="{total}" '
                    f'data-cascades="{cascades}" data-not-started="{idle}">'
                    f"<td>{escape(lab)}: {escape(title)}</td>"
                    f'<td class="num" data-sort="{share:.4f}">{failed}/{total} '
                    f"({percent(share)})</td>"
                    f'<td data-sort="{share:.4f}">{bar(share)}</td>'
                    f'<td class="num">{cascades}</td><td class="num">{not_run}</td>'
                    f'<td class="num">{idle}</td><td>{links}</td></tr>')
    html.append("</tbody></table>")
    return html


def _apart(students) -> list:
    html = ["<h2 id=\"apart\">Not graded fully</h2>"]
    rows = []
    for s in students:
        o = s.outcome
        if o.status != "ok":
            why = {"timeout": "hung", "error": "crashed"}.get(o.status, o.status)
            rows.append((s, why, o.detail))
        elif s.build_failures():
            rows.append((s, "did not build", ", ".join(s.build_failures())))
    if not rows:
        html.append("<p>Every submission was graded, and every lab built.</p>")
        return html
    html.append("<table id=\"apart-table\"><tr><th>student</th><th>what happened</th>"
                "<th>detail</th></tr>")
    for s, why, detail in rows:
        transcript = s.link("grade.txt")
        detail_html = escape(detail) + (f' (<a href="{escape(transcript)}">grade.txt</a>)'
                                        if transcript else "")
        html.append(f'<tr class="apart" data-student="{escape(s.name)}" data-why="{why}">'
                    f'<td><a href="#student-{escape(slug(s.name))}">{escape(s.name)}</a></td>'
                    f'<td class="status-{s.outcome.status}">{why}</td>'
                    f"<td>{detail_html}</td></tr>")
    html.append("</table>")
    return html


def _lab_cell(s, lab) -> str:
    """A student's points in a lab: low marked, "not started", or blank (not graded)."""
    if not s.has_results or lab not in s.outcome.labs:
        return (f'<td class="num" data-lab="{escape(lab)}" data-state="not-graded" '
                f'data-sort="-2" title="not graded"></td>')
    if lab in s.not_started:
        return (f'<td class="not-started" data-lab="{escape(lab)}" data-state="not-started" '
                f'data-sort="-1">not started</td>')
    score, top = s.outcome.labs[lab], s.outcome.lab_max.get(lab, 0)
    low = top > 0 and score < LOW_SHARE * top
    mark = '<span class="low-mark">▼</span> ' if low else ""
    return (f'<td class="num" data-lab="{escape(lab)}" data-state="graded" data-sort="{score}" '
            f'data-low="{int(low)}" title="{score} of {top}">{mark}{score}</td>')


def _failed_list(s, pitfalls, cited) -> str:
    failed = s.failed()
    if not failed:
        return '<span class="muted">none</span>'
    items = []
    for lab in sorted({t["lab"] for t in failed} & s.not_started):
        count = sum(t["lab"] == lab for t in failed)
        items.append(f'<p class="not-started" data-not-started="{escape(lab)}">'
                     f"{escape(lab)}: not started ({count} failed test"
                     f"{'s' if count != 1 else ''} left out)</p>")
    shown = [t for t in failed if t["lab"] not in s.not_started]
    for t in shown:
        lab, title = t["lab"], t["title"]
        numbers = pitfalls_of(lab, title, pitfalls)
        cited.update(numbers)
        extra = [f'<a href="#pitfall-{n}">pitfall {n}</a>' for n in numbers]
        log = s.link("logs", lab, f"{slug(title)}.log")
        svg = s.link("logs", lab, f"{slug(title)}.svg")
        if log:
            extra.append(f'<a href="{escape(log)}">log</a>')
        if svg:
            extra.append(f'<a href="{escape(svg)}" class="timeline">timeline</a>')
        same = t.get("same_cause_as")
        if same:
            extra.append(f'<span class="muted">the same cause as \u2018{escape(same)}\u2019</span>')
        items.append(f'<details class="failed" data-test="{escape(lab)}: {escape(title)}">'
                     f"<summary>{escape(lab)}: {escape(title)} ({t['points']}/{t['max_points']}) "
                     f"{' · '.join(extra)}</summary><pre>{escape(s.output(t))}</pre></details>")
    causes = len({t.get("same_cause_as") or t["title"] for t in shown if t.get("cause")})
    summary = (f"{len(shown)} failed" + (f", {causes} cause{'s' if causes != 1 else ''} named"
                                         if causes else ""))
    if not shown:
        return "".join(items)
    return (f'<details class="failed-list"><summary>{summary}</summary>'
            + "".join(items) + "</details>")


def _students(students, labs, pitfalls, cited) -> list:
    def order(s):
        return (s.outcome.score if s.has_results else -1, s.name)
    html = ["<h2 id=\"students\">Students</h2>",
            f"<p>Lowest total first; <span class=\"low-mark\">▼</span> below "
            f"{percent(LOW_SHARE)} of the maximum.</p>",
            "<table id=\"student-table\" class=\"sortable\"><thead><tr><th>student</th>"
            + "".join(f"<th>{escape(lab)}</th>" for lab in labs)
            + "<th aria-sort=\"ascending\">total</th><th>status</th><th>failed tests</th>"
              "</tr></thead><tbody>"]
    for s in sorted(students, key=order):
        o = s.outcome
        links = [f'<a href="{escape(target)}">{label}</a>'
                 for label, target in (("results.json", s.link("results.json")),
                                       ("grade.txt", s.link("grade.txt"))) if target]
        low = s.low()
        total = (f'{"<span class=low-mark>▼</span> " if low else ""}{o.score}/{o.max_score}'
                 if s.has_results else "")
        failed = len(s.failed(started_only=True))
        html.append(f'<tr class="student" id="student-{escape(slug(s.name))}" '
                    f'data-student="{escape(s.name)}" '
                    f'data-total="{o.score if s.has_results else ""}" '
                    f'data-max="{o.max_score if s.has_results else ""}" '
                    f'data-status="{o.status}" data-low="{int(low)}" '
                    f'data-not-started="{escape(" ".join(sorted(s.not_started)))}">'
                    f"<td>{escape(s.name)}<br><small>{' · '.join(links)}</small></td>"
                    + "".join(_lab_cell(s, lab) for lab in labs)
                    + f'<td class="num" data-sort="{order(s)[0]}">{total}</td>'
                    f'<td class="status-{o.status}">{o.status}</td>'
                    f'<td data-sort="{failed}">{_failed_list(s, pitfalls, cited)}</td></tr>')
    html.append("</tbody></table>")
    return html


def _pitfalls(pitfalls, cited) -> list:
    if not cited:
        return []
    html = ["<h2 id=\"pitfalls\">The pitfalls cited</h2>",
            "<p>From the kit's catalogue <code>PITFALLS.md</code> (same numbers).</p>"]
    for n in sorted(cited):
        p = pitfalls[n]
        html.append(f'<div class="pitfall" id="pitfall-{n}">'
                    f'<h3>{n}. {markdown_code(p["title"])}</h3>'
                    f"<p>{markdown_code(p['text'])}</p><p class=\"muted\">lab: "
                    f"{escape(', '.join(p['labs']))}; graded tests: "
                    f"{escape('; '.join(p['tests']) or 'none')}</p></div>")
    return html
