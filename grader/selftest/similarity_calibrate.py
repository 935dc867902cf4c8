"""Calibrate --similarity's default threshold on the kit's own files.

    python3 -m grader.selftest.similarity_calibrate            # the table, the threshold
    python3 -m grader.selftest.similarity_calibrate --check    # exit 1 unless it is
                                                               # DEFAULT_THRESHOLD
    python3 -m grader.selftest.similarity_calibrate --compile  # and compile the copies

(instructor-only, like the catalogues it reads: grader/similarity/ ships in
the handout, grader/selftest/ does not.)

For each student file of the labs (lab04_sigchld/server.cpp...), Dolos
compares, with the handout's version of the file as the template as in a
batch (similarity.run_dolos):

- the reference's lineage: the reference, and each of its alternatives
  (grader/alternatives), mutants (grader/mutants) and beginners' mistakes
  (grader/beginners) applied to it: all one author's code, a few lines apart;
- the independent lineage: grader/selftest/class_batch/LABNN_independent.cpp,
  a solution of the same lab written without looking at the reference
  (lab04 only so far);
- a planted copy of each of these (similarity_plant.py: comments removed,
  the file's own names renamed, its functions in the reverse order; it
  compiles).

The pairs are put in three classes; the others (two files of the same
lineage, neither a planted copy of the other) are near-copies, not counted:

- copy:        a file and its planted copy;
- edited copy: the reference and the planted copy of one of its variants
               (a copy, changed a little, then disguised);
- honest:      a file of one lineage and a file of the other (planted copies
               included): two authors who worked apart.

A threshold detects the copies at or above it, and lists the honest pairs at
or above it (false positives).  The threshold chosen is the highest multiple
of STEP that lies at least MARGIN below every planted copy: as high as the
copies allow, because honest pairs of a real class score far higher than the
kit's one independent pair does (pairs written apart against the same
headers scored 0.62-0.77 in a class of 12), while a disguised copy scores
alike wherever it comes from.  An edited copy that rewrote a whole function
scores like an honest pair, and no threshold tells them apart: the edited
copies' rate is shown, not chosen for.  Nothing is written: the copies are
made in a scratch folder.
"""

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

if __name__ == "__main__" and not __package__:
    print("similarity_calibrate.py: run tools/python -m grader.selftest.similarity_calibrate "
          "from the kit's folder", file=sys.stderr)
    sys.exit(2)

from grader.harness import kit  # noqa: E402
from grader.selftest import catalogue  # noqa: E402
from grader.selftest.similarity_plant import names_of, plant  # noqa: E402
from grader.similarity import similarity  # noqa: E402

INDEPENDENT_DIR = kit.KIT_ROOT / "grader" / "selftest" / "class_batch"
STEP = 0.05
MARGIN = 0.05
SHOWN = [round(0.5 + STEP * k, 2) for k in range(10)]  # 0.50 ... 0.95


@dataclass
class Source:
    name: str  # reference, independent, mutant:NAME, alternative:NAME, beginner:NAME
    lineage: str  # reference or independent
    text: str
    planted_from: str = ""  # the name of the file this one is a planted copy of


@dataclass
class Scored:
    rel: str
    kind: str  # copy, edited copy, honest
    left: str
    right: str
    similarity: float


@dataclass
class Calibration:
    pairs: list = field(default_factory=list)  # Scored
    near_copies: list = field(default_factory=list)  # similarities

    def of(self, kind: str) -> list:
        return [p for p in self.pairs if p.kind == kind]

    def rate(self, kind: str, threshold: float) -> tuple:
        """(at or above threshold, all) of the pairs of that kind."""
        scores = [p.similarity for p in self.of(kind)]
        return sum(s >= threshold for s in scores), len(scores)

    def threshold(self) -> float:
        """The highest multiple of STEP at least MARGIN below every planted copy."""
        lowest = min(p.similarity for p in self.of("copy"))
        steps = int((lowest - MARGIN) / STEP + 1e-9)
        return round(steps * STEP, 2)


def keep_names(rel: str) -> set:
    """The names of the headers a student file is compiled with: the
    interface, which a copy cannot rename."""
    lab = Path(rel).parent.name
    folders = {lab, *kit.LABS[lab].builds_with}
    return {name for folder in folders for header in (kit.KIT_ROOT / folder).glob("*.h")
            for name in names_of(header.read_text())}


def edited(text: str, mutant) -> str:
    for old, new in mutant.edits:
        if text.count(old) != 1:
            raise catalogue.MutantError(f"{mutant.name}: the text to replace occurs "
                                        f"{text.count(old)} times in {mutant.file}")
        text = text.replace(old, new)
    return text


def sources(rel: str) -> list:
    """The files of the calibration for one student file, planted copies
    included."""
    reference = (kit.KIT_ROOT / rel).read_text()
    found = [Source("reference", "reference", reference)]
    variants = ([("mutant", m) for m in catalogue.catalogue()]
                + [("alternative", a) for a in catalogue.alternatives()]
                + [("beginner", b) for b in catalogue.catalogue(catalogue.BEGINNERS_DIR)])
    for kind, m in variants:
        if m.file == rel:
            found.append(Source(f"{kind}:{m.name}", "reference", edited(reference, m)))
    independent = INDEPENDENT_DIR / f"{Path(rel).parent.name[:5]}_independent.cpp"
    if independent.is_file():
        found.append(Source("independent", "independent", independent.read_text()))
    keep = keep_names(rel)
    return found + [Source(f"planted:{s.name}", s.lineage, plant(s.text, keep), s.name)
                    for s in found]


def classify(a: Source, b: Source) -> str:
    if a.lineage != b.lineage:
        return "honest"
    if b.planted_from and not a.planted_from:
        a, b = b, a
    if a.planted_from == b.name:
        return "copy"
    if a.planted_from and not b.planted_from and b.name == "reference":
        return "edited copy"
    return ""


def calibrate(rels=None, compile_copies: bool = False) -> Calibration:
    result = Calibration()
    rels = list(rels or kit.STUDENT_FILES)
    with tempfile.TemporaryDirectory(prefix="forklab-calibrate-") as scratch:
        for n, rel in enumerate(rels):
            folder = Path(scratch) / str(n)
            folder.mkdir()
            files = sources(rel)
            paths = []
            for k, source in enumerate(files):
                paths.append(folder / f"{k}{Path(rel).suffix}")
                paths[-1].write_text(source.text)
            if compile_copies:
                check_compiles(rel, [p for p, s in zip(paths, files) if s.planted_from])
            template = folder / f"handout{Path(rel).suffix}"
            template.write_text(similarity.handout_version(rel))
            for found in similarity.run_dolos(paths, template, regions_from=2):
                a, b = files[found["left"]], files[found["right"]]
                kind = classify(a, b)
                if kind:
                    result.pairs.append(Scored(rel, kind, a.name, b.name, found["similarity"]))
                else:
                    result.near_copies.append(found["similarity"])
    return result


def check_compiles(rel: str, paths: list) -> None:
    lab = Path(rel).parent.name
    includes = [f"-I{kit.KIT_ROOT / f}" for f in (lab, *kit.LABS[lab].builds_with)]
    for path in paths:
        proc = subprocess.run(["g++", "-std=c++17", "-fsyntax-only", *includes, str(path)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"a planted copy of {rel} does not compile:\n{proc.stderr[:2000]}")


def span(scores: list) -> str:
    return f"{min(scores):.2f}-{max(scores):.2f}" if scores else "none"


def table(result: Calibration) -> str:
    kinds = ("copy", "edited copy", "honest")
    lines = ["| pairs | how many | similarity |", "|---|---:|---|"]
    for kind in kinds:
        scores = [p.similarity for p in result.of(kind)]
        lines.append(f"| {kind} | {len(scores)} | {span(scores)} |")
    lines.append(f"| near-copies (not counted) | {len(result.near_copies)} | "
                 f"{span(result.near_copies)} |")
    lines += ["", "| threshold | copies found | edited copies found | honest pairs listed |",
              "|---:|---:|---:|---:|"]
    chosen = result.threshold()
    for t in sorted(set(SHOWN) | {chosen, similarity.DEFAULT_THRESHOLD}):
        cells = []
        for kind in kinds:
            hit, total = result.rate(kind, t)
            cells.append(f"{hit}/{total} ({100 * hit / total:.0f} %)" if total else "-")
        mark = " (chosen)" if t == chosen else ""
        lines.append(f"| {t:.2f}{mark} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tools/python -m grader.selftest.similarity_calibrate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", action="append", metavar="LAB/FILE",
                        help="calibrate on this student file only (repeatable)")
    parser.add_argument("--compile", action="store_true",
                        help="also check that every planted copy compiles (g++)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 unless the chosen threshold is DEFAULT_THRESHOLD")
    args = parser.parse_args(argv)
    similarity.check_available()
    result = calibrate(args.file, args.compile)
    print(table(result))
    chosen = result.threshold()
    top = max(result.of("honest"), key=lambda p: p.similarity, default=None)
    print(f"\nchosen threshold: {chosen:.2f} (DEFAULT_THRESHOLD is "
          f"{similarity.DEFAULT_THRESHOLD:.2f})")
    if top:
        print(f"highest honest pair: {top.similarity:.3f} ({top.rel}: {top.left} ~ {top.right})")
    for kind in ("copy", "edited copy"):
        weakest = min(result.of(kind), key=lambda p: p.similarity)
        print(f"lowest {kind}: {weakest.similarity:.3f} ({weakest.rel}: {weakest.left} ~ "
              f"{weakest.right})")
    if args.check and chosen != similarity.DEFAULT_THRESHOLD:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
