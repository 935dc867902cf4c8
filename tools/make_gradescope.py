"""`make gradescope`: the Gradescope autograder zip, dist/gradescope-autograder.zip.

The zip holds, at its root, Gradescope's setup.sh and run_autograder
(grader/gradescope/) and the kit as the grader needs it: solutions replaced by
stubs as in the handout -- the grader takes the student files from the
submission anyway -- but the instructor-only test regions kept.
"""

import argparse
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file: tools/ is no package then
    print("make_gradescope.py: run python3 -m tools.make_gradescope from the kit's folder, "
          "not this file", file=sys.stderr)
    sys.exit(2)

from tools.make_handout import KIT_ROOT, MarkerError, make_handout

ZIP_NAME = "gradescope-autograder.zip"


def make_zip(root: Path, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        kit = make_handout(root, Path(tmp), name="source", keep_hidden=True, tarball=False)
        for script in ("setup.sh", "run_autograder"):
            shutil.copy2(root / "grader" / "gradescope" / script, kit / script)
        target = out_dir / ZIP_NAME
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in kit.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(file.relative_to(kit).as_posix(),
                                       date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (os.stat(file).st_mode & 0o777 | 0o100000) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, file.read_bytes())
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build the Gradescope autograder zip.")
    parser.add_argument("--out", type=Path, default=KIT_ROOT / "dist")
    args = parser.parse_args(argv)
    try:
        target = make_zip(KIT_ROOT, args.out.resolve())
    except MarkerError as exc:
        print(f"make_gradescope: {exc}", file=sys.stderr)
        return 1
    print(f"gradescope autograder: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
