"""Every promise a lab makes is checked, or says why not: each lab's spec
(grader/spec/LAB.txt, tools/spec_tables.py) quotes its README and header, and
names the graded tests, unit tests and alternatives that check each
requirement.

- every quote stands in the lab's README.md or its header;
- every sentence of the README and the header that says "must", and every
  row of the README's pitfalls table, is quoted by a requirement;
- every graded test, doctest case and alternative named exists;
- the generated tables (grader/spec/LAB.md) are up to date."""

import re

from conftest import GRADER_DIR, KIT_ROOT, run_grade

from grader.harness import kit
from tools import spec_tables

HEADERS = ("wrap.h", "server.h", "client.h")


def flat(text: str) -> str:
    return " ".join(text.split())


def lab_text(lab: str) -> str:
    """The lab's README and header as one string of words: the header's
    comment markers left out, every run of white space one space."""
    parts = [(KIT_ROOT / lab / "README.md").read_text()]
    for name in HEADERS:
        header = KIT_ROOT / lab / name
        if header.is_file():
            parts.append(re.sub(r"^\s*//\s?", "", header.read_text(), flags=re.MULTILINE))
    return flat("\n".join(parts))


def must_sentences(lab: str) -> list:
    """The sentences of the README and the header that say "must", outside
    the generated tables of graded tests (what a test does is no promise)."""
    readme = (KIT_ROOT / lab / "README.md").read_text()
    readme = re.sub(r"<!-- graded:.*?<!-- /graded -->", "", readme, flags=re.DOTALL)
    parts = [readme]
    for name in HEADERS:
        header = KIT_ROOT / lab / name
        if header.is_file():
            parts.append(re.sub(r"^\s*//\s?", "", header.read_text(), flags=re.MULTILINE))
    sentences = re.split(r"(?<=[.!?:;])\s+|\n\s*\n", "\n".join(parts))
    return [flat(s) for s in sentences if re.search(r"\bmust\b", s, re.IGNORECASE)]


def pitfall_rows(lab: str) -> list:
    text = (KIT_ROOT / lab / "README.md").read_text().split("## Pitfalls this lab catches", 1)[1]
    rows = []
    for row in re.findall(r"^\|(.+)\|\s*$", text, re.MULTILINE):
        mistake = flat(re.split(r"(?<!\\)\|", row)[0])
        if mistake not in ("mistake", "---"):
            rows.append(mistake)
    return rows


def unit_test_names() -> set:
    names = set()
    for source in KIT_ROOT.glob("lab*/*"):
        if source.suffix in (".cpp", ".h"):
            names.update(re.findall(r'TEST_CASE\("([^"]+)"\)', source.read_text()))
    return names


def graded_titles() -> set:
    listed = run_grade("--list")
    assert listed.returncode == 0, listed.stderr
    return {m.group(1) for m in re.finditer(r"^\s+\d+\s+(.+)$", listed.stdout, re.MULTILINE)}


def specs() -> dict:
    return {path.stem: spec_tables.parse(path) for path in spec_tables.spec_files()}


def test_every_lab_has_a_spec_and_its_table_is_up_to_date():
    assert sorted(specs()) == sorted(kit.present_labs())
    assert spec_tables.main([]) == 0, "run python3 -m tools.spec_tables --update"


def test_every_quote_stands_in_the_lab_text():
    problems = []
    for lab, requirements in specs().items():
        text = lab_text(lab)
        problems += [f"{lab}: '{r.title}' quotes what its README and header do not say: {q!r}"
                     for r in requirements for q in r.says if flat(q) not in text]
    assert not problems, "\n".join(problems)


def test_every_must_and_every_pitfall_is_a_requirement():
    problems = []
    for lab, requirements in specs().items():
        quotes = [flat(q) for r in requirements for q in r.says]
        for sentence in must_sentences(lab):
            if not any(q in sentence or sentence in q for q in quotes):
                problems.append(f"{lab}: no requirement quotes: {sentence!r}")
        for mistake in pitfall_rows(lab):
            if mistake not in quotes:
                problems.append(f"{lab}: no requirement quotes the pitfalls row: {mistake!r}")
    assert not problems, "\n".join(problems)


def test_every_check_named_exists():
    units, graded = unit_test_names(), graded_titles()
    problems = []
    for lab, requirements in specs().items():
        for r in requirements:
            problems += [f"{lab}: '{r.title}': no graded test {t!r}" for t in r.graded
                         if t not in graded]
            problems += [f"{lab}: '{r.title}': no doctest case {t!r}" for t in r.unit
                         if t not in units]
            problems += [f"{lab}: '{r.title}': no alternative {a}" for a in r.alternative
                         if not (GRADER_DIR / "alternatives" / f"{a}.alt").is_file()]
    assert not problems, "\n".join(problems)


def test_a_requirement_without_a_check_or_a_reason_is_refused(tmp_path):
    spec = tmp_path / "lab09_demo.txt"
    spec.write_text("## something promised\nsays: a promise\n")
    try:
        spec_tables.parse(spec)
    except spec_tables.SpecError as exc:
        assert "no graded:, unit: or not graded:" in str(exc)
    else:
        raise AssertionError("a requirement with no check was accepted")
