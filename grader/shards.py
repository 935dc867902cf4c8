"""A class graded in shards, on several machines at once, and joined again.

    grader/grade --batch DIR --shard K/N --seed S [--out OUT_K] ...   one shard, on one machine
    grader/grade --merge OUT_1 ... OUT_N --out OUT [--batch DIR]       the class, joined

Which submissions a shard grades: the submission folders of DIR sorted by
name (as batch.submissions_in() lists them), the one of rank r (0, 1, ...)
goes to shard r % N + 1.  So the shards differ by at most one submission,
every submission is in exactly one shard, and a shard graded again (after a
machine failed) grades the same students, as long as DIR holds the same
folders.  Each shard records the whole class's names, and --merge refuses
shards that saw different classes.

Every batch -- a shard or a whole class -- ends by writing OUT/batch.json
(MANIFEST): the shard, the seed, the labs, the class, and each student's
outcome (batch.Outcome, as the batch held it), with the roster's lms_ids
and the --similarity options.  --merge reads the shards' batch.json, copies
their students' folders into OUT and writes grades.csv, failed_tests.csv,
report.html (and similarity.csv) with batch.py's own functions
(batch.write_csv, class_report.write_for_batch) from those outcomes: the same files an
unsharded batch with the same seed writes, but for the timings (the
cpu_pressure column; the seconds are not in them).  The similarity of the
students' files (--similarity) compares every pair of the class, so the
shards leave it to the merge, which reads the submissions from DIR (the
shards' DIR, or --batch DIR at the merge).
"""

import argparse
import dataclasses
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from grader.harness.kit import UsageError
from grader.i18n import _

MANIFEST = "batch.json"
FORMAT = 1


@dataclass(frozen=True)
class Shard:
    index: int  # 1..count
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


WHOLE = Shard(1, 1)


def parse_shard(text: str) -> Shard:
    """argparse's type of --shard: K/N, 1 <= K <= N."""
    index, slash, count = text.partition("/")
    try:
        index, count = int(index), int(count)
    except ValueError:
        index = count = 0
    if not slash or count < 1 or not 1 <= index <= count:
        raise argparse.ArgumentTypeError(
            _("'{text}' is not K/N with 1 <= K <= N (e.g. 2/8: the second of eight shards)")
            .format(text=text))
    return Shard(index, count)


def shard_of(rank: int, count: int) -> int:
    """The shard (1..count) of the submission of this rank (0, 1, ...) in name order."""
    return rank % count + 1


def part(names: list, shard: Shard) -> list:
    """The names of a shard, from the class's names in name order."""
    return [name for rank, name in enumerate(names) if shard_of(rank, shard.count) == shard.index]


# ----------------------------------------------------------------- options

def add_options(group) -> None:
    """--shard and --merge (forklab_grade.parse_args)."""
    group.add_argument("--shard", type=parse_shard, metavar="K/N",
                       help=_("grade only the K-th of N slices of the class (needs --seed); "
                              "join the slices' --out folders with --merge"))
    group.add_argument("--merge", type=Path, nargs="+", metavar="OUT",
                       help=_("join the --out folders of a class's shards into --out: one "
                              "grades.csv and report.html"))


def check_options(args) -> None:
    """Refuse, before grading, --shard and --merge options that cannot work."""
    shard = getattr(args, "shard", None)
    if shard is not None:
        if args.batch is None:
            raise UsageError(_("--shard K/N grades a slice of a --batch"))
        if shard.count > 1 and args.seed is None:
            raise UsageError(_("--shard {shard} needs --seed: every shard of a class must grade "
                               "with the same random inputs").format(shard=shard))
    if getattr(args, "merge", None) is not None:
        single = ("submission", "shard", "lab", "seed", "json", "junit", "github_summary",
                  "github_output", "annotations", "prairielearn", "profile")
        if any(getattr(args, name, None) for name in single):
            raise UsageError(_("--merge takes its labs, seed and students from the shards: it "
                               "does not combine with --submission, --shard, --lab, --seed or "
                               "the options that write one grading's results"))


# -------------------------------------------------- the batch's two hooks

def select(submissions: list, args) -> list:
    """The submissions this batch grades: all of them, or its shard's
    (batch.run_batch).  Remembers the class, for record()."""
    shard = getattr(args, "shard", None) or WHOLE
    args.shard_class = [path.name for path in submissions]
    mine = set(part(args.shard_class, shard))
    if shard.count > 1:
        # The similarity of the files compares the whole class: the merge's work.
        args.similarity_wanted = getattr(args, "similarity", False)
        args.similarity = False
        print(_("shard {shard}: {mine} of the class's {total} submissions").format(
            shard=shard, mine=len(mine), total=len(submissions)), flush=True)
    return [path for path in submissions if path.name in mine]


def record(args, out: Path, outcomes: list, labs: list, seed: int) -> Path:
    """OUT/batch.json, once the batch has written grades.csv and report.html
    (batch.grade_all): what --merge needs."""
    shard = getattr(args, "shard", None) or WHOLE
    batch_dir = getattr(args, "batch", None)
    data = {
        "format": FORMAT,
        "shard": [shard.index, shard.count],
        "seed": seed,
        "labs": list(labs),
        "class": list(getattr(args, "shard_class", [o.student for o in outcomes])),
        "batch": str(batch_dir.resolve()) if batch_dir is not None else None,
        "out": str(out),
        "similarity": bool(getattr(args, "similarity_wanted", getattr(args, "similarity", False))),
        "similarity_threshold": getattr(args, "similarity_threshold", None),
        "similarity_top": getattr(args, "similarity_top", None),
        "roster": getattr(args, "roster_ids", None),
        "outcomes": [dataclasses.asdict(o) for o in outcomes],
    }
    path = out / MANIFEST
    partial = out / f".{MANIFEST}.part"
    partial.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(partial, path)
    return path


# ------------------------------------------------------------------ merge

def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise UsageError(_("{folder} holds no {manifest}: it is not the --out of a finished "
                           "batch or shard (an interrupted one writes none)").format(
                               folder=folder, manifest=MANIFEST))
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, not {FORMAT}")
        data["shard"] = Shard(*data["shard"])
        absent = [key for key in ("seed", "labs", "class", "outcomes", "out") if key not in data]
        if absent:
            raise KeyError(", ".join(absent))
    except (OSError, ValueError, LookupError, TypeError) as exc:
        raise UsageError(_("{path} is unreadable ({error})").format(
            path=path, error=f"{type(exc).__name__}: {exc}")) from None
    data["folder"] = folder
    return data


def check_shards(manifests: list) -> None:
    """The shards of one class, graded alike, each once, none missing."""
    first = manifests[0]
    for m in manifests[1:]:
        for key, what in (("seed", _("seed")), ("labs", _("labs")), ("class", _("class")),
                          ("roster", "--roster")):
            if m.get(key) != first.get(key):
                raise UsageError(_("{a} and {b} differ in their {what}: they are not shards of "
                                   "one grading").format(a=first["folder"], b=m["folder"],
                                                         what=what))
        if m["shard"].count != first["shard"].count:
            raise UsageError(_("{a} is a shard of {n}, {b} of {m}").format(
                a=first["folder"], n=first["shard"].count, b=m["folder"], m=m["shard"].count))
    seen = {}
    for m in manifests:
        if m["shard"] in seen:
            raise UsageError(_("shard {shard} is given twice: {a} and {b}").format(
                shard=m["shard"], a=seen[m["shard"]]["folder"], b=m["folder"]))
        seen[m["shard"]] = m
    count = first["shard"].count
    missing = [str(Shard(k, count)) for k in range(1, count + 1) if Shard(k, count) not in seen]
    if missing:
        raise UsageError(_("shards missing: {missing}").format(missing=", ".join(missing)))
    graded = sorted(o["student"] for m in manifests for o in m["outcomes"])
    if graded != sorted(first["class"]):
        raise UsageError(_("the shards' students are not the class they recorded"))


def outcome_from(saved: dict, batch_module):
    """A batch.Outcome from its batch.json record (fields it does not know are left out)."""
    known = {f.name for f in dataclasses.fields(batch_module.Outcome)}
    return batch_module.Outcome(**{k: v for k, v in saved.items() if k in known})


def merge(args) -> int:
    """grader/grade --merge OUT_1 ... OUT_N --out OUT: the shards joined."""
    from grader import batch, class_report

    sources = [folder.resolve() for folder in args.merge]
    out = (args.out or Path("grades")).resolve()
    if out in sources:
        raise UsageError(_("--out {out} is one of the folders to merge: give another").format(
            out=out))
    manifests = [read_manifest(folder) for folder in sources]
    check_shards(manifests)
    first = manifests[0]
    labs, seed, names = first["labs"], first["seed"], first["class"]
    wanted = args.similarity or any(m.get("similarity") for m in manifests)
    threshold = args.similarity_threshold
    if threshold is None:
        threshold = next((m["similarity_threshold"] for m in manifests
                          if m.get("similarity_threshold") is not None), None)
    top = getattr(args, "similarity_top", None)
    if top is None:
        top = next((m["similarity_top"] for m in manifests
                    if m.get("similarity_top") is not None), None)
    class_dir = args.batch.resolve() if args.batch is not None else (
        Path(first["batch"]) if first.get("batch") else None)
    if wanted and (class_dir is None or not class_dir.is_dir()):
        raise UsageError(_("--similarity compares the students' files: the class folder {folder} "
                           "is not here; give it with --batch DIR").format(folder=class_dir))
    report_args = argparse.Namespace(batch=class_dir, similarity=wanted,
                                     similarity_threshold=threshold, similarity_top=top)
    class_report.check_options(report_args)
    if out.exists() and not out.is_dir():
        raise UsageError(_("--out {out} is not a folder").format(out=out))
    out.mkdir(parents=True, exist_ok=True)

    by_student = {}
    for m in manifests:
        for saved in m["outcomes"]:
            outcome = outcome_from(saved, batch)
            # Its messages name files of the shard's folder: now they are in out.
            outcome.detail = outcome.detail.replace(m["out"] + os.sep, str(out) + os.sep)
            target = out / outcome.student
            if target.exists():
                shutil.rmtree(target)
            if (m["folder"] / outcome.student).is_dir():
                shutil.copytree(m["folder"] / outcome.student, target, symlinks=True)
            by_student[outcome.student] = outcome
    outcomes = [by_student[name] for name in names]
    print(_("forklab merge: {count} submissions from {shards} shards, seed {seed}, "
            "labs {labs}").format(count=len(outcomes), shards=len(manifests), seed=seed,
                                  labs=", ".join(labs)), flush=True)
    roster = (batch.read_roster(args.roster) if getattr(args, "roster", None) is not None
              else first.get("roster"))
    batch.write_csv(out / "grades.csv", outcomes, labs, roster)
    if roster is not None:
        batch.tell_roster_gaps(roster, outcomes)
    submissions = [class_dir / name for name in names] if class_dir is not None else []
    class_report.write_for_batch(report_args, out, outcomes, labs, seed, submissions)
    merged = argparse.Namespace(batch=class_dir, shard_class=names, similarity=wanted,
                                similarity_threshold=threshold, similarity_top=top,
                                roster_ids=roster)
    record(merged, out, outcomes, labs, seed)
    problems = [o for o in outcomes if o.status != "ok"]
    print(_("grades: {path}").format(path=out / "grades.csv")
          + (_("; {count} could not be graded fully").format(count=len(problems))
             if problems else ""))
    return 1 if problems else 0
