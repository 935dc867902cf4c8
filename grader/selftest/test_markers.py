"""The solution and hidden markers: tools/markers.py, the kit's one reader of
them, and its two users (the handout, and the slides through its CLI)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"

from tools import make_handout
from tools.markers import MarkerError, extract, regions, strip_regions

MARKERS = TOOLS / "markers.py"


def test_solution_region_becomes_its_stub_at_the_marker_indent():
    text = ("int f(int x)\n{\n"
            "    // BEGIN SOLUTION stub: not_implemented(\"f\", x);\n"
            "    return x + 1;\n"
            "    // END SOLUTION\n}\n")
    assert strip_regions(text, "f.cpp") == "int f(int x)\n{\n    not_implemented(\"f\", x);\n}\n"


def test_solution_region_without_stub_and_hidden_region_vanish():
    text = "a\n# BEGIN SOLUTION\nsecret\n# END SOLUTION\nb\n# BEGIN HIDDEN\nhidden\n# END HIDDEN\nc\n"
    assert strip_regions(text, "x.py") == "a\nb\nc\n"


def test_the_three_editions():
    text = ("a\n// BEGIN SOLUTION stub: stub();\nsolution\n// END SOLUTION\n"
            "b\n// BEGIN HIDDEN\nhidden\n// END HIDDEN\nc")
    assert extract(text, "x.cpp", "student") == "a\nstub();\nb\nc"
    assert extract(text, "x.cpp", "autograder") == "a\nstub();\nb\nhidden\nc"
    assert strip_regions(text, "x.cpp", keep_hidden=True) == extract(text, "x.cpp", "autograder")
    assert extract(text, "x.cpp", "instructor") == "a\nsolution\nb\nhidden\nc"


def test_regions_give_kind_marker_lines_stub_and_body():
    text = "x\n    # BEGIN SOLUTION stub: pass\n    y = 1\n    # END SOLUTION\n"
    [region] = regions(text, "x.py")
    assert (region.kind, region.begin, region.end, region.stub, region.body) == (
        "SOLUTION", 2, 4, "    pass", ["    y = 1\n"])


def test_c_files_take_the_markers_of_cpp_files():
    text = "a\n// BEGIN HIDDEN\nb\n// END HIDDEN\nc\n"
    assert strip_regions(text, "fork_server.c") == "a\nc\n"


def test_markdown_markers():
    text = "intro\n<!-- BEGIN HIDDEN -->\nfor instructors\n<!-- END HIDDEN -->\nend\n"
    assert strip_regions(text, "README.md") == "intro\nend\n"


def test_a_marker_in_another_language_is_an_example_not_a_marker():
    text = "```cpp\n// BEGIN SOLUTION stub: f();\n// END SOLUTION\n```\n"
    assert strip_regions(text, "README.md") == text
    python = "# BEGIN HIDDEN\n"
    assert strip_regions(python, "notes.cpp") == python
    assert regions("// BEGIN SOLUTION\n", "data.json") == []


def test_a_marker_mentioned_in_prose_is_left_alone():
    text = "Mark code with `// BEGIN SOLUTION` and `// END SOLUTION`.\n// Begin with the end.\n"
    assert strip_regions(text, "README.md") == text
    assert strip_regions(text, "x.cpp") == text


@pytest.mark.parametrize("text, complaint", [
    ("// BEGIN SOLUTION\nx\n", "x.cpp:1: BEGIN SOLUTION is never closed"),
    ("x\n// END SOLUTION\n", "x.cpp:2: END SOLUTION without BEGIN SOLUTION"),
    ("// BEGIN SOLUTION\n// BEGIN HIDDEN\n", "x.cpp:2: BEGIN HIDDEN inside the SOLUTION region"),
    ("// BEGIN HIDDEN\n// END SOLUTION\n", "x.cpp:2: END SOLUTION without BEGIN SOLUTION"),
    ("// BEGIN HIDDEN stub: x\n// END HIDDEN\n", "x.cpp:1: unexpected text after BEGIN HIDDEN"),
    ("// BEGIN SOLUTION oops\n// END SOLUTION\n", "x.cpp:1: unexpected text after BEGIN"),
    ("// BEGIN SOLUTOIN\nx\n// END SOLUTION\n", "x.cpp:1: unknown marker 'BEGIN SOLUTOIN'"),
    ("// BEGIN SOLUTION\nx\n// END SOLUTIONS\n", "x.cpp:3: unknown marker 'END SOLUTIONS'"),
    ("// BEGIN HIDDEN\n    //END\n// END HIDDEN\n", "x.cpp:2: unknown marker 'END'"),
])
def test_unbalanced_or_malformed_markers_name_file_and_line(text, complaint):
    with pytest.raises(MarkerError, match=complaint):
        strip_regions(text, "x.cpp")


def test_an_unknown_marker_in_markdown():
    with pytest.raises(MarkerError, match=r"^README.md:2: unknown marker 'BEGIN NOTES' \(the markers"):
        strip_regions("a\n<!-- BEGIN NOTES -->\n", "README.md")


def run_markers(*args, cwd):
    return subprocess.run([sys.executable, str(MARKERS), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def test_the_command_prints_each_edition_and_the_regions(tmp_path):
    text = "a\n# BEGIN SOLUTION stub: pass\nb = 1\n# END SOLUTION\n# BEGIN HIDDEN\nc\n# END HIDDEN\n"
    (tmp_path / "x.py").write_text(text)
    (tmp_path / "blob.bin").write_bytes(b"\xff\xfe no markers here")
    for edition in ("student", "autograder", "instructor"):
        proc = run_markers("extract", "x.py", "--edition", edition, cwd=tmp_path)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, extract(text, "x.py", edition), "")
    assert run_markers("extract", "x.py", cwd=tmp_path).stdout == "a\npass\n"
    proc = run_markers("regions", "x.py", "blob.bin", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "x.py": [{"kind": "SOLUTION", "begin": 2, "end": 4, "stub": "pass", "body": ["b = 1"]},
                 {"kind": "HIDDEN", "begin": 5, "end": 7, "stub": None, "body": ["c"]}],
        "blob.bin": []}


def test_the_command_says_what_is_wrong_in_one_line_per_file(tmp_path):
    (tmp_path / "open.cpp").write_text("a\n// BEGIN SOLUTION\nb\n")
    (tmp_path / "typo.sh").write_text("# BEGIN HIDEN\n")
    (tmp_path / "good.cpp").write_text("// BEGIN HIDDEN\n// END HIDDEN\n")
    proc = run_markers("extract", "open.cpp", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == "markers: open.cpp:2: BEGIN SOLUTION is never closed\n"
    proc = run_markers("regions", "good.cpp", "open.cpp", "typo.sh", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.splitlines() == [
        "markers: open.cpp:2: BEGIN SOLUTION is never closed",
        "markers: typo.sh:1: unknown marker 'BEGIN HIDEN' (the markers: BEGIN SOLUTION, "
        "END SOLUTION, BEGIN HIDDEN, END HIDDEN)"]
    proc = run_markers("extract", "missing.cpp", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.startswith("markers: missing.cpp: cannot read it: ")
    assert len(proc.stderr.splitlines()) == 1


def test_make_handout_stops_at_a_bad_marker_with_one_line(tmp_path, monkeypatch, capsys):
    kit = tmp_path / "kit"
    (kit / "labx").mkdir(parents=True)
    (kit / "labx" / "a.cpp").write_text("int f()\n{\n    // BEGIN SOLUTION\n    return 1;\n}\n")
    monkeypatch.setattr(make_handout, "kit_files", lambda root: [Path("labx/a.cpp")])
    status = make_handout.main(["--root", str(kit), "--out", str(tmp_path / "dist"),
                                "--no-reference-binaries"])
    assert status == 1
    assert capsys.readouterr().err == "make_handout: labx/a.cpp:3: BEGIN SOLUTION is never closed\n"
    assert not (tmp_path / "dist" / make_handout.NAME).exists()
