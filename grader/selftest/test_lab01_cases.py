"""The graded doctest cases come from the built unit-test binaries: every
TEST_CASE of lab01_wrap/test_wrap.cpp is graded (grader/tests/checks/wrap_cases.py,
its points and hint) or excluded there with a reason, and so is every case of
lab06's test_server.cpp (grader/tests/checks/limits_cases.py); no graded name
is one the binary lacks (it would fail every student as 'not run by the kit')."""

import shutil
import subprocess

from conftest import KIT_ROOT

from grader.tests.checks import limits_cases, unit_cases, wrap_cases


def built_test_binary(tmp_path):
    """The reference lab01 unit-test binary, built in a copy of the kit."""
    shutil.copytree(KIT_ROOT / "lab01_wrap", tmp_path / "lab01_wrap",
                    ignore=shutil.ignore_patterns("build"))
    shutil.copy2(KIT_ROOT / "common.mk", tmp_path / "common.mk")
    build = subprocess.run(["make", "-C", str(tmp_path / "lab01_wrap"), "-s", "all"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    return tmp_path / "lab01_wrap" / wrap_cases.TEST_BINARY


def test_every_doctest_case_is_graded_or_excluded(tmp_path):
    listed = wrap_cases.listed_cases(built_test_binary(tmp_path))
    assert len(listed) > 30, listed
    neither, unknown = wrap_cases.unaccounted(listed)
    assert not neither, f"doctest cases neither graded nor excluded in wrap_cases.py: {neither}"
    assert not unknown, f"wrap_cases.py names cases test_wrap does not have: {unknown}"


def test_every_exclusion_says_why():
    assert all(reason.strip() for reason in wrap_cases.EXCLUDED.values())
    graded = {name for name, _points, _hint in wrap_cases.CASES}
    assert not graded & set(wrap_cases.EXCLUDED)


def test_unaccounted_names_a_new_case_and_a_stale_one():
    names = [name for name, _points, _hint in wrap_cases.CASES]
    neither, unknown = wrap_cases.unaccounted(names[1:] + ["Readline: a new case"])
    assert neither == ["Readline: a new case"]
    assert unknown == [names[0]]


def built_lab06_binary(tmp_path):
    """The reference lab06 unit-test binary, built in a copy of the kit."""
    for folder in ("lab01_wrap", "lab02_single", "lab03_fork", "lab06_limits"):
        shutil.copytree(KIT_ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("build", "server"))
    for name in ("common.mk", "program.mk"):
        shutil.copy2(KIT_ROOT / name, tmp_path / name)
    build = subprocess.run(["make", "-C", str(tmp_path / "lab06_limits"), "-s",
                            limits_cases.TEST_BINARY], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    return tmp_path / "lab06_limits" / limits_cases.TEST_BINARY


def test_every_lab06_case_is_graded_or_excluded(tmp_path):
    """lab06's own cases are graded one by one (the contract of server.h);
    the cases of labs 02-04 it runs again are left to their graded tests."""
    listed = unit_cases.listed_cases(built_lab06_binary(tmp_path))
    neither, unknown = unit_cases.unaccounted(listed, limits_cases.CASES, limits_cases.EXCLUDED)
    assert not neither, f"lab06 cases neither graded nor excluded in limits_cases.py: {neither}"
    assert not unknown, f"limits_cases.py names cases test_server does not have: {unknown}"
    assert all(reason.strip() for reason in limits_cases.EXCLUDED.values())
