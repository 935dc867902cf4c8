"""The handout generator's solution and hidden markers."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from make_handout import MarkerError, strip_regions  # noqa: E402


def test_solution_region_becomes_its_stub_at_the_marker_indent():
    text = ("int f(int x)\n{\n"
            "    // BEGIN SOLUTION stub: not_implemented(\"f\", x);\n"
            "    return x + 1;\n"
            "    // END SOLUTION\n}\n")
    assert strip_regions(text, "f.cpp") == "int f(int x)\n{\n    not_implemented(\"f\", x);\n}\n"


def test_solution_region_without_stub_and_hidden_region_vanish():
    text = "a\n# BEGIN SOLUTION\nsecret\n# END SOLUTION\nb\n# BEGIN HIDDEN\nhidden\n# END HIDDEN\nc\n"
    assert strip_regions(text, "x.py") == "a\nb\nc\n"


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


def test_a_marker_mentioned_in_prose_is_left_alone():
    text = "Mark code with `// BEGIN SOLUTION` and `// END SOLUTION`.\n"
    assert strip_regions(text, "README.md") == text


@pytest.mark.parametrize("text, complaint", [
    ("// BEGIN SOLUTION\nx\n", "x.cpp:1: BEGIN SOLUTION is never closed"),
    ("x\n// END SOLUTION\n", "x.cpp:2: END SOLUTION without BEGIN SOLUTION"),
    ("// BEGIN SOLUTION\n// BEGIN HIDDEN\n", "x.cpp:2: BEGIN HIDDEN inside the SOLUTION region"),
    ("// BEGIN HIDDEN\n// END SOLUTION\n", "x.cpp:2: END SOLUTION without BEGIN SOLUTION"),
    ("// BEGIN HIDDEN stub: x\n// END HIDDEN\n", "x.cpp:1: unexpected text after BEGIN HIDDEN"),
    ("// BEGIN SOLUTION oops\n// END SOLUTION\n", "x.cpp:1: unexpected text after BEGIN"),
])
def test_unbalanced_or_malformed_markers_name_file_and_line(text, complaint):
    with pytest.raises(MarkerError, match=complaint):
        strip_regions(text, "x.cpp")
