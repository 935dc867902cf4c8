"""The labs of the kit, and how a submission is built for grading.

A submission is a folder laid out like the kit.  The grader takes from it
only the student files each lab declares below; everything else -- Makefiles,
headers, unit tests -- comes from the grader's own copy of the kit, so a
submission cannot change what grades it.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from grader import settings
from grader.i18n import _

from . import manifest, procs, profile, sandbox
from .timing import scaled


def _N(message: str) -> str:
    """Marks a message for the .po (tools/check_translations.py); the harness
    translates it where it prints it."""
    return message


KIT_ROOT = Path(__file__).resolve().parents[2]
SUPPORT_DIR = KIT_ROOT / "grader" / "support"


def grader_command(kit_root: Path = KIT_ROOT, env=None) -> tuple:
    """The argv and the environment that run the grader of the kit (or handout)
    at kit_root as a new process, the way grader/grade does: `python3 -m
    grader.forklab_grade` with kit_root first on PYTHONPATH.  Append the
    grader's arguments to the argv; env (default: this process's) is copied."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(kit_root), env.get("PYTHONPATH")]))
    # -P (Python 3.11+): the current folder is not put on sys.path, where a
    # grader/ of another copy of the kit would stand in for kit_root's.
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    return [sys.executable, *safe_path, "-m", "grader.forklab_grade"], env


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
    # The make target the grader needs: the program under test.  A lab with no
    # program (labs.txt: -) is graded through its unit-test binary, so it
    # builds everything.
    target: str = "all"
    # Its unit tests are graded too (lab01, whose program they are; a lab
    # whose Makefile says GRADED_UNIT_TESTS): the grader builds their objects
    # that no student file changes once (its Makefile's kit-objects target).
    unit_tests_graded: bool = False

    @property
    def graded_through_unit_tests(self) -> bool:
        return self.target == "all"


def _grades_unit_tests(folder: str, program: str) -> bool:
    if not program:
        return True
    try:
        makefile = (KIT_ROOT / folder / "Makefile").read_text()
    except OSError:
        return False
    return re.search(r"^GRADED_UNIT_TESTS\s*:?=\s*yes", makefile, re.MULTILINE) is not None


def _labs_of_the_manifest() -> dict:
    """{name: Lab} from labs.txt, the kit's one list of labs."""
    return {entry.folder: Lab(entry.folder, entry.title,
                              (f"{entry.folder}/{entry.student_file}",), entry.builds_on,
                              entry.program or "all",
                              _grades_unit_tests(entry.folder, entry.program))
            for entry in manifest.read()}


LABS = _labs_of_the_manifest()

# The programs the labs build (labs.txt): a copy of the kit starts without them.
PROGRAMS = tuple(sorted({entry.program for entry in manifest.read() if entry.program}))

STUDENT_FILES = tuple(path for lab in LABS.values() for path in lab.student_files)

# What the scratch copy of the kit needs besides the lab folders.
KIT_SUPPORT_FILES = ("common.mk", "program.mk", "tools/find-python")

BUILD_PRODUCTS = shutil.ignore_patterns("build", "*.o", "*.d", "grade-logs", "__pycache__")

# The kit's own compiled parts, which no student file changes: the unit-test
# objects of a lab graded through its unit tests (its Makefile's kit-objects
# target: doctest's main, the test support, the lab's tests) and the grader's
# preloaded libraries (grader/support/NAME.cpp).  The grader compiles them
# once per grading run -- a batch once for all its students -- outside any
# sandbox, and a lab's build links them from a folder the sandbox sees
# read-only (make KIT_OBJECTS=DIR, common.mk).
SUPPORT_LIBRARIES = ("fail_fork", "late_sleep", "blocked_start", "full_socket")
# A batch hands its workers the folder it built through this variable.
KIT_OBJECTS_SETTING = "FORKLAB_KIT_OBJECTS"


def present_labs(kit_root: Path = KIT_ROOT):
    """The labs this copy of the kit has (a lab folder with a Makefile)."""
    return [name for name in LABS if (kit_root / name / "Makefile").is_file()]


def copy_kit(scratch: Path, kit_root: Path = KIT_ROOT) -> None:
    """Copy the kit's labs and build support into scratch, without build products
    and without any student file (those come from the submission only)."""
    for name in present_labs(kit_root):
        shutil.copytree(kit_root / name, scratch / name, ignore=BUILD_PRODUCTS)
        for program in PROGRAMS:
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
            problems[rel] = _("{file} is a symbolic link; submit the file itself").format(file=rel)
        elif not source.is_file():
            problems[rel] = _("{file} is missing from the submission").format(file=rel)
        elif source.stat().st_size > MAX_STUDENT_FILE_BYTES:
            problems[rel] = _("{file} is larger than {limit} bytes").format(
                file=rel, limit=MAX_STUDENT_FILE_BYTES)
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


def build_env() -> dict:
    """The environment of every build: the kit's compiler and flags, whatever
    the grader's own environment says."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("MAKE") and k not in ("CXX", "CXXFLAGS", "SANITIZE",
                                                      "KIT_OBJECTS", KIT_OBJECTS_SETTING)}


def _built_mark(dest: Path, lab_name: str) -> Path:
    return dest / f".{lab_name}.built"


def _support_library_command(dest: Path, name: str) -> list:
    return ["g++", "-std=c++17", "-O2", "-shared", "-fPIC", "-o", str(dest / f"{name}.so"),
            str(SUPPORT_DIR / f"{name}.cpp"), "-ldl"]


def _run_trusted_builds(commands, folder: Path) -> None:
    """Run the compiles side by side (each in a temporary folder of its own)."""
    def run(numbered):
        number, command = numbered
        return command, procs.compile_trusted(command, folder / f".compile-{number}",
                                              build_env(), timeout=scaled(600))

    with profile.phase("compiling"), ThreadPoolExecutor(max_workers=max(1, len(commands))) as pool:
        finished = list(pool.map(run, enumerate(commands)))
    for number in range(len(commands)):
        shutil.rmtree(folder / f".compile-{number}", ignore_errors=True)
    for command, proc in finished:
        if proc.returncode != 0:
            raise RuntimeError(f"the kit's own objects did not build ({' '.join(command)}):\n"
                               f"{(proc.stdout + proc.stderr)[-2000:]}")


def build_kit_objects(dest: Path, labs, kit_root: Path = KIT_ROOT, libraries=True) -> None:
    """Compile into dest the kit objects of the labs graded through their unit
    tests and (libraries=True) the grader's support libraries and the crash
    reporter, from the grader's own kit (trusted code: no sandbox).  Raises
    RuntimeError if they do not build."""
    dest.mkdir(parents=True, exist_ok=True)
    jobs = str(os.cpu_count() or 1)
    unit_tested = [name for name in labs if LABS[name].unit_tests_graded]
    # A folder per lab: two labs' tests may have the same name (test_server.o).
    commands = [["make", "-C", str(kit_root / name), "-s", "-j", jobs, f"BUILD={dest / name}",
                 "kit-objects"] for name in unit_tested]
    if libraries:
        commands += [_support_library_command(dest, name)
                     for name in (*SUPPORT_LIBRARIES, procs.CRASH_REPORTER)]
    _run_trusted_builds(commands, dest)
    for name in unit_tested:
        _built_mark(dest, name).touch()
    for item in [dest, *dest.rglob("*")]:
        item.chmod(0o755 if item.is_dir() else 0o644)


# --- the cache of the kit's compiled parts ----------------------------------
#
# What no student file changes is compiled once per version of the kit, not
# once per grading: settings.CACHE holds one folder per version (its name a
# hash of the sources and the compiler), which a grading copies into its
# scratch folder.  Only where no student program can write the cache: as
# root (it belongs to root) or under bwrap (which shows no home folder).

CACHE_ENTRY = "kit-objects-"
# An entry nobody used for this long is removed when another one is made.
CACHE_KEEP_SECONDS = 14 * 24 * 3600


def _compiler_identity() -> str:
    try:
        return subprocess.run(["g++", "--version"], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _cached_sources(kit_root: Path) -> list:
    """The files the kit's compiled parts may be made from: every lab's (a
    lab's tests include other labs' headers), but the student files;
    common.mk, program.mk and the grader's support sources."""
    files = [kit_root / "common.mk", kit_root / "program.mk", *sorted(SUPPORT_DIR.glob("*.cpp"))]
    for name in present_labs(kit_root):
        for path in sorted((kit_root / name).rglob("*")):
            rel = path.relative_to(kit_root)
            if (path.is_file() and "build" not in rel.parts and path.suffix not in (".o", ".d")
                    and rel.as_posix() not in STUDENT_FILES):
                files.append(path)
    return files


def cache_key(kit_root: Path = KIT_ROOT) -> str:
    digest = hashlib.sha256(_compiler_identity().encode())
    for path in _cached_sources(kit_root):
        digest.update(str(path.relative_to(kit_root) if path.is_relative_to(kit_root)
                          else path.name).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def cache_usable() -> bool:
    return settings.CACHE is not None and (
        os.geteuid() == 0 or sandbox.choose().mode == "bwrap")


def _prune_cache(root: Path, keep: Path) -> None:
    now = time.time()
    for entry in root.iterdir():
        try:
            stale = now - entry.stat().st_mtime > (
                3600 if entry.name.startswith(".building-") else CACHE_KEEP_SECONDS)
        except OSError:
            continue
        if entry != keep and stale:
            shutil.rmtree(entry, ignore_errors=True)


_cache_entry = None


def cached_kit_objects():
    """The cache's folder of every kit object, support library and the crash
    reporter of this version of the kit, compiled on first use; None where
    no cache may be used (or it cannot be written)."""
    global _cache_entry
    if _cache_entry is not None or not cache_usable():
        return _cache_entry
    root = settings.CACHE
    entry = root / f"{CACHE_ENTRY}{cache_key()}"
    if not (entry / ".complete").is_file():
        try:
            root.mkdir(parents=True, exist_ok=True)
            building = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
        except OSError:
            return None
        try:
            building.chmod(0o755)
            build_kit_objects(building, [lab for lab in LABS if lab in present_labs()])
            (building / ".complete").touch()
            try:
                building.rename(entry)
            except OSError:  # another grader made it meanwhile
                pass
        finally:
            shutil.rmtree(building, ignore_errors=True)
        if not (entry / ".complete").is_file():
            return None
        _prune_cache(root, entry)
    os.utime(entry)
    _cache_entry = entry
    return entry


def prebuilt_objects():
    """Where this run finds the kit's compiled parts: the batch's folder, or
    the cache; None: build them in the scratch folder."""
    return given_kit_objects() or cached_kit_objects()


def given_kit_objects():
    """The folder of prebuilt kit objects a batch hands this run
    (FORKLAB_KIT_OBJECTS), checked, or None."""
    given = os.environ.get(KIT_OBJECTS_SETTING)
    if not given:
        return None
    folder = Path(given).resolve()
    if not folder.is_dir():
        raise UsageError(f"{KIT_OBJECTS_SETTING}={given} must be a folder of the kit's "
                         f"prebuilt objects")
    return folder


def kit_objects_ready(scratch: Path, lab: Lab) -> Path:
    """The folder of the kit objects of a lab whose unit tests are graded:
    the batch's, or the cache's copied (or built on first use) into the
    scratch folder."""
    given = given_kit_objects()
    if given is not None:
        if not _built_mark(given, lab.name).is_file():
            raise UsageError(f"{KIT_OBJECTS_SETTING}={given} lacks the kit objects of {lab.name}")
        return given / lab.name
    folder = scratch / "kit-objects"
    if not _built_mark(folder, lab.name).is_file():
        cached = cached_kit_objects()
        if cached is not None and _built_mark(cached, lab.name).is_file():
            shutil.copytree(cached, folder, dirs_exist_ok=True)
            for item in [folder, *folder.rglob("*")]:
                if item.is_dir():
                    item.chmod(0o755)
        else:
            build_kit_objects(folder, [lab.name], libraries=False)
    return folder / lab.name


def support_library(scratch: Path, name: str) -> Path:
    """grader/support/NAME.cpp as a library to preload, in scratch/grader-support/
    where the sandbox sees it: copied from the batch's kit objects, else built
    on first use."""
    target = scratch / "grader-support" / f"{name}.so"
    if not target.exists():
        target.parent.mkdir(mode=0o755, exist_ok=True)
        given = prebuilt_objects()
        if given is not None and (given / target.name).is_file():
            shutil.copyfile(given / target.name, target)
        else:
            _run_trusted_builds([_support_library_command(target.parent, name)], target.parent)
        target.chmod(0o644)
    return target


def build_lab(scratch: Path, lab: Lab, missing: dict, timeout: float = 180,
              target: str = None) -> BuildResult:
    """Run the lab's own Makefile in the scratch copy: the program under test
    (or `target`: a lab's unit-test binary, when its unit tests are graded)."""
    with profile.phase("compiling"):
        return _build_lab(scratch, lab, missing, timeout, target)


def _build_lab(scratch: Path, lab: Lab, missing: dict, timeout: float,
               target: str = None) -> BuildResult:
    for rel in lab.student_files + tuple(f for dep in lab.builds_with
                                         for f in LABS[dep].student_files):
        if rel in missing:
            return BuildResult(False, "", missing[rel])
    jobs = str(os.cpu_count() or 1)
    lab_dir = scratch / lab.name
    command = ["make", "-C", str(lab_dir), "-j", jobs, target or lab.target]
    if lab.graded_through_unit_tests or target is not None:
        command.append(f"KIT_OBJECTS={kit_objects_ready(scratch, lab)}")
    log_path = scratch / f"build-{lab.name}{'-' + Path(target).name if target else ''}.log"
    # The compiler runs contained too (as the sandbox user, under bwrap): an
    # #include of a file the grader can read must not compile the file into
    # a student's program, nor show it in a build log.
    sandbox.give_to_sandbox(lab_dir)
    try:
        with open(log_path, "wb") as log:
            proc = sandbox.spawn(command, cwd=lab_dir, stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, env=build_env(), build=True,
                                 writable=[lab_dir])
        try:
            code = proc.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            procs.kill_tree(proc.pid)
            proc.wait()
            code = None
    finally:
        sandbox.take_back(lab_dir)
    out = log_path.read_bytes().decode(errors="replace")
    if code is None:
        return BuildResult(False, out, _("the build did not finish within {seconds} s").format(
            seconds=f"{scaled(timeout):.0f}"))
    if code != 0:
        return BuildResult(False, out, _("the build failed (-Wall -Wextra -Werror: warnings "
                                         "count as errors)"))
    return BuildResult(True, out)
