"""`make gradescope`: the Gradescope autograder zip, dist/gradescope-autograder.zip.

The zip holds, at its root, Gradescope's setup.sh and run_autograder
(grader/gradescope/) and the kit as the grader needs it: solutions replaced by
stubs as in the handout -- the grader takes the student files from the
submission anyway -- but the instructor-only test regions kept.

`make gradescope LAB=lab04_sigchld` (--lab, repeatable or comma-separated)
packages an assignment of those labs only: the zip also holds GRADED_LABS,
one lab a line, which run_autograder grades (and no other), and is named
gradescope-autograder-LAB.zip.  The kit in it stays whole: a lab builds with
an earlier lab's student file (lab01's wrap.cpp), and lab05's tests run
lab04's server.
"""

import argparse
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file: tools/ is no package then
    print("make_gradescope.py: run tools/python -m tools.make_gradescope from the kit's folder, "
          "not this file", file=sys.stderr)
    sys.exit(2)

from grader.harness import kit  # noqa: E402
from tools.make_handout import KIT_ROOT, MarkerError, make_handout  # noqa: E402

ZIP_NAME = "gradescope-autograder.zip"
# The labs of a one-assignment zip, one a line (run_autograder reads it).
GRADED_LABS = "GRADED_LABS"


class LabError(Exception):
    pass


def chosen_labs(requested, root: Path = KIT_ROOT) -> list:
    """The labs of --lab (repeated or comma-separated), in the kit's order;
    [] for none: every lab.  LabError names one the kit does not have."""
    names = [name.strip().rstrip("/") for item in requested or () for name in item.split(",")
             if name.strip()]
    present = kit.present_labs(root)
    for name in names:
        if name not in present:
            raise LabError(f"no lab {name!r} in this kit (labs: {', '.join(present)})")
    return [lab for lab in present if lab in names]


def zip_name(labs) -> str:
    return ZIP_NAME if not labs else ZIP_NAME.replace(".zip", f"-{'-'.join(labs)}.zip")


def make_zip(root: Path, out_dir: Path, labs=()) -> Path:
    """The autograder zip in out_dir; labs: grade only these (default: every lab)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        kit_dir = make_handout(root, Path(tmp), name="source", keep_hidden=True, tarball=False)
        for script in ("setup.sh", "run_autograder"):
            shutil.copy2(root / "grader" / "gradescope" / script, kit_dir / script)
        if labs:
            (kit_dir / GRADED_LABS).write_text("".join(f"{lab}\n" for lab in labs))
        target = out_dir / zip_name(labs)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in kit_dir.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(file.relative_to(kit_dir).as_posix(),
                                       date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (os.stat(file).st_mode & 0o777 | 0o100000) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, file.read_bytes())
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build the Gradescope autograder zip.")
    parser.add_argument("--out", type=Path, default=KIT_ROOT / "dist")
    parser.add_argument("--lab", action="append", default=[], metavar="LAB",
                        help="an assignment of this lab only (repeat, or LAB,LAB, for "
                             "several); default: every lab")
    args = parser.parse_args(argv)
    try:
        labs = chosen_labs(args.lab)
    except LabError as exc:
        print(f"make_gradescope: {exc}", file=sys.stderr)
        return 2
    try:
        target = make_zip(KIT_ROOT, args.out.resolve(), labs)
    except MarkerError as exc:
        print(f"make_gradescope: {exc}", file=sys.stderr)
        return 1
    print(f"gradescope autograder: {target}" + (f" (grades {', '.join(labs)})" if labs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
