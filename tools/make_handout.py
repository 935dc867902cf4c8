"""Make the student handout from the kit: `make handout`.

The kit's files are the reference solutions.  Each file goes into the handout
in its student edition (tools/markers.py, the kit's one reader of the solution
markers): a SOLUTION region becomes its stub line, a HIDDEN region goes.  A bad
marker is an error naming the file and line.  Files and folders listed in
INSTRUCTOR_ONLY are left out altogether.

Files under handout/ replace the kit's in the handout: handout/README.md is the
student's README.  The handout also carries the reference programs, built from
the kit and stripped (lab04_sigchld/server-ref, lab05_client/client-ref, ...),
so that `make demo` and every "try it by hand" step work before the student has
written a line, and students can compare their program with the reference;
--no-reference-binaries leaves them out.

The handout carries both languages: every X.zh.md beside its X.md, the
Chinese decks (NN-name.zh.html) beside the English, and the grader's compiled
Chinese messages (grader/locale/zh/LC_MESSAGES/forklab.mo, which `make
catalogues` builds).  --langs en ships English only: no *.zh.md, no Chinese
deck, no catalogue.  --langs zh ships Chinese only: each X.zh.md becomes X.md
(its links to other *.zh.md pointing at the new names), each Chinese deck takes
its English twin's name, and what has no Chinese twin (GLOSSARY.md, the
instructor-only docs) stays as it is.

Output: OUT/forklab-handout/ and OUT/forklab-handout.tar.gz.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__" and not __package__:  # run as a file: tools/ is no package then
    print("make_handout.py: run tools/python -m tools.make_handout from the kit's folder, "
          "not this file", file=sys.stderr)
    sys.exit(2)

from grader.harness import manifest  # noqa: E402  (the kit's one list of labs)
# The marker grammar; strip_regions and marker_for are also used by the
# graders' kits, the selftests and grader/similarity/.
from tools.markers import MarkerError, comment_style, marker_for, strip_regions  # noqa: E402,F401

NAME = "forklab-handout"

# Files that replace the kit's own in the handout (handout/README.md -> README.md).
HANDOUT_OVERLAY = Path("handout")

# The reference programs that ship as binaries: (folder, program) of every lab
# of the manifest that has a program, and the bench's C servers, which the bench
# compares the student's server with.
REFERENCE_PROGRAMS = tuple((lab.folder, lab.program) for lab in manifest.read()
                           if lab.program) + (("bench", "fork_server"),
                                              ("bench", "fork_server_static"))
REFERENCE_SUFFIX = "-ref"

# Paths (relative to the kit root) that never reach students.
INSTRUCTOR_ONLY = (
    ".ci/",
    "handout/",
    "grader/selftest/",
    "grader/mutants/",
    "grader/alternatives/",
    "grader/beginners/",
    # The spec of each lab names the alternatives of the catalogue.
    "grader/spec/",
    "grader/gradescope/",
    "grader/prairielearn/",
    "tools/make_handout.py",
    "tools/markers.py",
    "tools/make_gradescope.py",
    "tools/make_prairielearn.py",
    # Keeping the Chinese twins in step is the course staff's job (make check).
    "tools/check_translations.py",
    "tools/message_catalogue.py",
    "tools/translation_lock.py",
    # It translates the decks' grading timelines with check_translations' list.
    "tools/translate_timeline.py",
    # The READMEs' generated tables (graded tests, labs) come with the READMEs.
    "tools/graded_tables.py",
    "tools/lab_tables.py",
    "tools/spec_tables.py",
    "tools/generated.py",
    # Checking a lab's pieces and writing a new lab's are the course staff's.
    "tools/lab_check.py",
    "tools/new_lab.py",
    "grader/locale/.gitignore",
    "tools/translations.lock.json",
    # A complete fork + SIGCHLD server in C: lab03's and lab04's answer.  The
    # handout ships its stripped build instead (bench/fork_server-ref).
    "bench/fork_server.c",
    # Deck sources hold the instructor's notes and the reference code; the
    # handout carries the rendered student decks instead (copy_student_decks).
    "slides/",
)
STUDENT_DECKS = Path("slides") / "build" / "student"
# The compiled messages of the grader (built, not tracked: see `make catalogues`).
CATALOGUES = "grader/locale/*/LC_MESSAGES/*.mo"
LANGUAGES = ("en", "zh")

def kit_files(root: Path):
    """The kit's files: what git tracks (and untracked files it does not ignore)
    in a checkout, otherwise everything but build products."""
    try:
        listing = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others",
             "--exclude-standard"], check=True, capture_output=True).stdout
        names = sorted({name for name in listing.decode().split("\0") if name})
        return [Path(name) for name in names if (root / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", "build", "dist", "grade-logs", "__pycache__", "node_modules"}
        found = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in skip)
            for filename in sorted(filenames):
                found.append((Path(dirpath) / filename).relative_to(root))
        return found


def instructor_only(rel: Path) -> bool:
    text = rel.as_posix()
    return any(text == entry or (entry.endswith("/") and text.startswith(entry))
               for entry in INSTRUCTOR_ONLY)


def make_handout(root: Path, out_dir: Path, name: str = NAME, keep_hidden: bool = False,
                 tarball: bool = True, reference_binaries: bool = False,
                 languages=LANGUAGES) -> Path:
    """Write out_dir/name/ (and out_dir/name.tar.gz): the kit without its
    solutions.  keep_hidden keeps the instructor-only test regions, for an
    autograder that students never see; reference_binaries adds the stripped
    reference programs (`make handout` does)."""
    target = out_dir / name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    errors = []
    for rel in kit_files(root):
        if instructor_only(rel):
            continue
        source = root / rel
        destination = target / rel
        destination.parent.mkdir(parents=True, exist_ok=True)
        if comment_style(rel) is None:
            shutil.copy2(source, destination)
            continue
        try:
            text = strip_regions(source.read_text(), rel.as_posix(), keep_hidden)
        except MarkerError as exc:
            errors.append(str(exc))
            continue
        destination.write_text(text)
        shutil.copymode(source, destination)
    if errors:
        shutil.rmtree(target)
        raise MarkerError("\n".join(errors))
    overlay = root / HANDOUT_OVERLAY
    for rel in kit_files(root):
        if rel.parts[0] == HANDOUT_OVERLAY.name:
            destination = target / rel.relative_to(HANDOUT_OVERLAY)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(overlay / rel.relative_to(HANDOUT_OVERLAY), destination)
    copy_student_decks(root, target)
    for catalogue in sorted(root.glob(CATALOGUES)):
        destination = target / catalogue.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(catalogue, destination)
    keep_languages(target, languages)
    if reference_binaries:
        add_reference_binaries(root, target)
    if tarball:
        write_tarball(target, out_dir / f"{name}.tar.gz", name)
    return target


class BuildError(Exception):
    pass


def add_reference_binaries(root: Path, target: Path) -> None:
    """Build each reference program in the kit (its default g++ build) and copy
    it, stripped, beside the student's file as NAME-ref."""
    for folder, program in REFERENCE_PROGRAMS:
        if not (root / folder / "Makefile").is_file() or not (target / folder).is_dir():
            continue
        build = subprocess.run(["make", "-C", str(root / folder), program],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True)
        built = root / folder / program
        if build.returncode != 0 or not built.is_file():
            raise BuildError(f"cannot build the reference {folder}/{program}:\n"
                             f"{build.stdout[-2000:]}{build.stderr[-2000:]}")
        shipped = target / folder / f"{program}{REFERENCE_SUFFIX}"
        subprocess.run(["strip", "--strip-all", "-o", str(shipped), str(built)], check=True)
        shipped.chmod(0o755)


def copy_student_decks(root: Path, target: Path) -> None:
    """slides/*.html and *.pdf: the student decks, if `make -C slides student`
    built them (`make handout` does)."""
    source = root / STUDENT_DECKS
    if not source.is_dir():
        return
    decks = sorted(source.glob("*.html")) + sorted(source.glob("*.pdf"))
    if decks:
        (target / "slides").mkdir(parents=True, exist_ok=True)
        for deck in decks:
            shutil.copy2(deck, target / "slides" / deck.name)


def keep_languages(target: Path, languages) -> None:
    """Leave in target only the languages asked for (see the top of this file)."""
    chinese = sorted(p for p in target.rglob("*") if p.is_file() and ".zh." in p.name)
    if "zh" not in languages:
        for path in chinese:
            path.unlink()
        shutil.rmtree(target / "grader" / "locale", ignore_errors=True)
    elif "en" not in languages:
        for path in chinese:
            english = path.with_name(path.name.replace(".zh.", ".", 1))
            if path.suffix == ".md":
                path.write_text(re.sub(r"(\]\([^)\s]*?|\[[^\]\s]*?)\.zh\.md\b", r"\1.md",
                                       path.read_text()))
            path.replace(english)


def write_tarball(folder: Path, path: Path, name: str) -> None:
    """A reproducible tarball: sorted names, no owners, fixed times."""
    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        return info

    with tarfile.open(path, "w:gz") as tar:
        for file in sorted(p for p in folder.rglob("*") if p.is_file()):
            tar.add(file, arcname=f"{name}/{file.relative_to(folder).as_posix()}",
                    filter=normalise)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Make the student handout of the kit.")
    parser.add_argument("--out", type=Path, default=KIT_ROOT / "dist",
                        help="folder for forklab-handout/ and its .tar.gz (default: dist)")
    parser.add_argument("--no-reference-binaries", action="store_true",
                        help="leave out the reference programs (server-ref, client-ref, ...)")
    parser.add_argument("--langs", default="en,zh", metavar="LANGS",
                        help="the languages it ships: en, zh or en,zh (default: both)")
    parser.add_argument("--root", type=Path, default=KIT_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    languages = [lang for lang in re.split(r"[,\s]+", args.langs) if lang]
    if not languages or any(lang not in LANGUAGES for lang in languages):
        print(f"make_handout: --langs {args.langs!r}: give en, zh or en,zh", file=sys.stderr)
        return 2
    try:
        target = make_handout(args.root.resolve(), args.out.resolve(),
                              reference_binaries=not args.no_reference_binaries,
                              languages=languages)
    except (MarkerError, BuildError) as exc:
        print(f"make_handout: {exc}", file=sys.stderr)
        return 1
    print(f"handout: {target} and {target}.tar.gz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
