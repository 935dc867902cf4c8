"""The grader's command line: bad input, broken and incomplete submissions."""

import xml.etree.ElementTree as ET

from conftest import failed_tests, load_results, replace_once, run_grade


def test_unknown_lab_is_a_usage_error():
    proc = run_grade("--lab", "lab99_nothing")
    assert proc.returncode == 2
    assert "unknown lab 'lab99_nothing'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_submission_folder_is_a_usage_error(tmp_path):
    proc = run_grade("--submission", tmp_path / "nope")
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr


def test_output_into_a_missing_folder_is_a_usage_error(tmp_path):
    proc = run_grade("--lab", "lab01_wrap", "--json", tmp_path / "no" / "r.json")
    assert proc.returncode == 2
    assert "cannot write" in proc.stderr


def test_broken_accept_fails_exactly_the_accept_retry_tests(submission, tmp_path):
    """Issue 2's acceptance check: Accept that gives up on EINTR."""
    replace_once(submission / "lab01_wrap/wrap.cpp",
                 "return err == EINTR || err == ECONNABORTED || err == EPROTO;",
                 "return err == ECONNABORTED || err == EPROTO;")
    out = tmp_path / "r.json"
    junit = tmp_path / "r.xml"
    proc = run_grade("--lab", "lab01_wrap", "--submission", submission, "--json", out,
                     "--junit", junit, "--logs", tmp_path / "logs")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    results = load_results(out)
    assert failed_tests(results) == {
        "lab01_wrap: Accept: retries after EINTR",
        "lab01_wrap: Accept: resets the address length before each retry",
        "lab01_wrap: Accept: retries after a real signal interrupts it",
    }
    assert results["score"] == results["extra_data"]["max_score"] - 6
    assert "FAIL   0/2" in proc.stdout and "hint: A signal handler" in proc.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("failures") == "3"
    assert (tmp_path / "logs/lab01_wrap/accept-retries-after-eintr.log").is_file()


def test_missing_student_file_fails_the_build_with_a_reason(submission, tmp_path):
    (submission / "lab01_wrap/wrap.cpp").unlink()
    out = tmp_path / "r.json"
    proc = run_grade("--lab", "lab01_wrap", "--submission", submission, "--json", out,
                     "--logs", tmp_path / "logs")
    assert proc.returncode == 1
    results = load_results(out)
    builds = results["tests"][0]
    assert builds["name"] == "lab01_wrap: builds (warnings are errors)"
    assert "lab01_wrap/wrap.cpp is missing from the submission" in builds["output"]
    assert all(t["output"].startswith("not run") for t in results["tests"][1:])
    assert results["score"] == 0


def test_compile_error_shows_the_compiler_message(submission, tmp_path):
    replace_once(submission / "lab01_wrap/wrap.cpp", "void Listen(int fd, int backlog)\n{",
                 "void Listen(int fd, int backlog)\n{\n    undeclared_name();")
    proc = run_grade("--lab", "lab01_wrap", "--submission", submission,
                     "--logs", tmp_path / "logs")
    assert proc.returncode == 1
    assert "undeclared_name" in proc.stdout and "was not declared" in proc.stdout
    assert "Score: 0/" in proc.stdout


def test_a_submission_cannot_replace_the_tests_that_grade_it(submission, tmp_path):
    """Only student files are taken: a doctored test file is ignored."""
    (submission / "lab01_wrap/test_wrap.cpp").write_text("int main() { return 0; }\n")
    replace_once(submission / "lab01_wrap/wrap.cpp",
                 "return err == EINTR || err == ECONNABORTED || err == EPROTO;",
                 "return err == ECONNABORTED || err == EPROTO;")
    out = tmp_path / "r.json"
    run_grade("--lab", "lab01_wrap", "--submission", submission, "--json", out,
              "--logs", tmp_path / "logs")
    assert "lab01_wrap: Accept: retries after EINTR" in failed_tests(load_results(out))
