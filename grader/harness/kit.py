"""The labs of the kit, and how a submission is built for grading.

A submission is a folder laid out like the kit.  The grader takes from it
only the student files each lab declares below; everything else -- Makefiles,
headers, unit tests -- comes from the grader's own copy of the kit, so a
submission cannot change what grades it.
"""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import manifest, sandbox
from .timing import scaled

KIT_ROOT = Path(__file__).resolve().parents[2]


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit status 2."""

# A student file larger than this is refused (a source file, not a data dump).
MAX_STUDENT_FILE_BYTES = 1 << 20


@dataclass(frozen=True)
class Lab:
    name: str
    title: str
    student_files: tuple  # paths relative to the kit root
    builds_with: tuple = ()  # earlier labs whose student files this lab compiles
    # The make target the grader needs: the program under test.  lab01 is
    # graded through its unit-test binary, so it builds everything.
    target: str = "all"


def _labs_of_the_manifest() -> dict:
    """{name: Lab} from labs.txt, the kit's one list of labs."""
    return {entry.folder: Lab(entry.folder, entry.title,
                              (f"{entry.folder}/{entry.student_file}",), entry.builds_on,
                              entry.program or "all")
            for entry in manifest.read()}


LABS = _labs_of_the_manifest()

STUDENT_FILES = tuple(path for lab in LABS.values() for path in lab.student_files)

# What the scratch copy of the kit needs besides the lab folders.
KIT_SUPPORT_FILES = ("common.mk", "program.mk", "tools/find-python")

BUILD_PRODUCTS = shutil.ignore_patterns("build", "*.o", "*.d", "grade-logs", "__pycache__")


def present_labs(kit_root: Path = KIT_ROOT):
    """The labs this copy of the kit has (a lab folder with a Makefile)."""
    return [name for name in LABS if (kit_root / name / "Makefile").is_file()]


def copy_kit(scratch: Path, kit_root: Path = KIT_ROOT) -> None:
    """Copy the kit's labs and build support into scratch, without build products
    and without any student file (those come from the submission only)."""
    for name in present_labs(kit_root):
        shutil.copytree(kit_root / name, scratch / name, ignore=BUILD_PRODUCTS)
        for program in ("server", "client"):
            (scratch / name / program).unlink(missing_ok=True)
    for rel in KIT_SUPPORT_FILES:
        (scratch / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(kit_root / rel, scratch / rel)
    for rel in STUDENT_FILES:
        (scratch / rel).unlink(missing_ok=True)


def take_student_files(submission: Path, scratch: Path) -> dict:
    """Copy each declared student file from the submission into scratch.
    Returns {relative path: problem} for the files that could not be taken."""
    problems = {}
    for rel in STUDENT_FILES:
        source = submission / rel
        target = scratch / rel
        if not target.parent.is_dir():
            continue  # this copy of the kit does not have that lab
        if source.is_symlink():
            problems[rel] = f"{rel} is a symbolic link; submit the file itself"
        elif not source.is_file():
            problems[rel] = f"{rel} is missing from the submission"
        elif source.stat().st_size > MAX_STUDENT_FILE_BYTES:
            problems[rel] = f"{rel} is larger than {MAX_STUDENT_FILE_BYTES} bytes"
        else:
            shutil.copyfile(source, target)
    return problems


@dataclass
class BuildResult:
    ok: bool
    output: str
    problem: str = ""  # one line for the student: why it did not build


def first_errors(output: str, limit: int = 15) -> str:
    """The compiler's first diagnostics, without make's chatter and command lines."""
    lines = [line for line in output.splitlines()
             if not line.startswith(("make", "mkdir ", "g++ ", "c++ ", "clang++ "))]
    for i, line in enumerate(lines):
        if re.search(r"\b(error|undefined reference)\b", line):
            start = max(0, i - 1)
            return "\n".join(lines[start:start + limit])
    return "\n".join(lines[-limit:])


def build_lab(scratch: Path, lab: Lab, missing: dict, timeout: float = 180) -> BuildResult:
    """Run the lab's own Makefile in the scratch copy (the program under test
    only: the unit tests are the student's own business, `make test`)."""
    for rel in lab.student_files + tuple(f for dep in lab.builds_with
                                         for f in LABS[dep].student_files):
        if rel in missing:
            return BuildResult(False, "", missing[rel])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MAKE") and k not in ("CXX", "CXXFLAGS", "SANITIZE")}
    jobs = str(os.cpu_count() or 1)
    lab_dir = scratch / lab.name
    # The compiler runs as the sandbox user too: an #include of a file the
    # grader can read must not put that file into a student's build log.
    sandbox.give_to_sandbox(lab_dir)
    try:
        proc = subprocess.run(["make", "-C", str(lab_dir), "-j", jobs, lab.target],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env, timeout=scaled(timeout),
                              start_new_session=True, preexec_fn=sandbox.preexec(build=True),
                              **sandbox.popen_identity())
    except subprocess.TimeoutExpired as exc:
        out = (exc.output or b"").decode(errors="replace")
        return BuildResult(False, out, f"the build did not finish within {scaled(timeout):.0f} s")
    finally:
        sandbox.take_back(lab_dir)
    out = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        return BuildResult(False, out, "the build failed (-Wall -Wextra -Werror: warnings "
                                       "count as errors)")
    return BuildResult(True, out)
