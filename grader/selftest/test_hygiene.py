"""The kit's files as a maintainer leaves them: no merge left half done."""

import ast
import re
import subprocess
from pathlib import Path

from conftest import KIT_ROOT

CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ", "=======\n")


def kit_files():
    """The files git tracks, or every file of the copy when it is no clone."""
    listed = subprocess.run(["git", "-C", str(KIT_ROOT), "ls-files", "-z"],
                            capture_output=True, text=True)
    if listed.returncode == 0 and listed.stdout:
        return [KIT_ROOT / name for name in listed.stdout.split("\0") if name]
    return [p for p in KIT_ROOT.rglob("*") if p.is_file()
            and not {"build", "node_modules", ".git"} & set(p.parts)]


def test_no_merge_conflict_markers():
    found = []
    for path in kit_files():
        try:
            lines = path.read_text().splitlines(keepends=True)
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        found += [f"{path.relative_to(KIT_ROOT)}:{n}" for n, line in enumerate(lines, 1)
                  if line.startswith(CONFLICT_MARKERS[:2]) or line == CONFLICT_MARKERS[2]]
    assert not found, "merge conflict markers left in: " + ", ".join(found)


# A Python module of the kit stays under this many lines: a longer one is
# split by responsibility into modules of its own.
MAX_MODULE_LINES = 500
# A lab's graded test module is the list of its graded tests, in the order its
# README gives them (what `grade --list` prints), each with its hint: it holds
# nothing else -- every helper lives in grader/tests/checks/ -- and may hold
# up to this many lines (lab06's fifteen tests take some 520 on their own).
MAX_GRADED_MODULE_LINES = 800


def is_graded_module(path) -> bool:
    return path.parent == KIT_ROOT / "grader" / "tests" and path.name.startswith("test_lab")


def helpers_in(path) -> list:
    """The top-level functions and classes of a module that are no graded test."""
    tree = ast.parse(path.read_text())
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))
            and not (isinstance(node, ast.FunctionDef) and node.decorator_list)]


def test_every_python_module_is_under_max_lines():
    """Every tracked Python file of the kit (node_modules/ and build/ aside) has
    fewer than MAX_MODULE_LINES lines, a lab's graded test module fewer than
    MAX_GRADED_MODULE_LINES; each one that has more is named."""
    long = []
    for path in kit_files():
        if path.suffix != ".py" or {"node_modules", "build"} & set(
                path.relative_to(KIT_ROOT).parts) or not path.is_file():
            continue
        count = len(path.read_bytes().splitlines())
        limit = MAX_GRADED_MODULE_LINES if is_graded_module(path) else MAX_MODULE_LINES
        if count >= limit:
            long.append(f"{path.relative_to(KIT_ROOT)}: {count} lines")
    assert not long, ("Python modules over their limit (split them by responsibility): "
                      + ", ".join(long))


def test_graded_test_modules_hold_only_graded_tests():
    """A lab's graded test module defines graded tests only (functions with
    @graded); its helpers live in grader/tests/checks/, where other labs can
    use them too."""
    found = {str(path.relative_to(KIT_ROOT)): helpers_in(path)
             for path in sorted((KIT_ROOT / "grader" / "tests").glob("test_lab*.py"))}
    assert {name: helpers for name, helpers in found.items() if helpers} == {}, (
        "move these to grader/tests/checks/")


def sys_path_edits(text: str) -> list:
    """The lines of a Python file that change sys.path: insert, append,
    extend, remove, an item or a slice assigned, or sys.path replaced."""
    tree = ast.parse(text)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and is_sys_path(node.func.value)):
            found.append(node.lineno)  # sys.path.insert(...), .append(...), ...
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if is_sys_path(target) or (isinstance(target, ast.Subscript)
                                           and is_sys_path(target.value)):
                    found.append(node.lineno)
    return found


def is_sys_path(node) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "path"
            and isinstance(node.value, ast.Name) and node.value.id == "sys")


def python_sources():
    """The kit's Python files: *.py, and the scripts whose first line runs python3."""
    for path in kit_files():
        if path.suffix == ".py" or (path.is_file() and path.read_bytes().startswith(
                b"#!/usr/bin/env python3")):
            yield path


def test_no_python_file_edits_sys_path():
    """The grader, tools/ and bench/ are packages found on sys.path as Python
    finds any package (grader/grade sets PYTHONPATH; -m from the kit's folder):
    no file edits sys.path to find them."""
    found = [f"{path.relative_to(KIT_ROOT)}:{line}" for path in python_sources()
             if path.exists() for line in sys_path_edits(path.read_text())]
    assert not found, "sys.path edited in: " + ", ".join(found)


def test_no_file_runs_python_code_that_edits_sys_path():
    """Nor does code that a file hands to python3 -c, nor a shell script (this
    file, which names what it looks for, aside)."""
    found = [f"{path.relative_to(KIT_ROOT)}:{n}" for path in kit_files()
             if path.suffix != ".md" and path.exists() and path != Path(__file__).resolve()
             for n, line in enumerate(read_lines(path), 1) if SYS_PATH_EDIT.search(line)]
    assert not found, "sys.path edited in: " + ", ".join(found)


SYS_PATH_EDIT = re.compile(
    r"sys\.path\s*(\.\s*(insert|append|extend|remove)\s*\(|\[[^]]*\]\s*=(?!=)|\+?=(?!=))")


def read_lines(path):
    try:
        return path.read_text().splitlines()
    except (UnicodeDecodeError, IsADirectoryError):
        return []


def test_a_sys_path_edit_is_found():
    """The checks above find what they look for."""
    for edit in ("sys.path.insert(0, 'x')", "sys.path.append('x')", "sys.path[:0] = ['x']",
                 "sys.path = ['x']", "sys.path += ['x']"):
        assert sys_path_edits(f"import sys\n{edit}\n") == [2], edit
        assert SYS_PATH_EDIT.search(edit), edit
    assert sys_path_edits("import sys\nprint(sys.path)\n") == []
    assert not SYS_PATH_EDIT.search("print(sys.path[0]); sys.path == []")


def test_every_setting_is_checked_and_documented():
    """Every FORKLAB_* setting the grader reads goes through grader/settings.py
    (no os.environ.get of one elsewhere), and grader/README.md's table lists it."""
    read_elsewhere, through_settings = [], set()
    for path in (KIT_ROOT / "grader").rglob("*.py"):
        if {"selftest", "node_modules"} & set(path.parts):
            continue
        text = path.read_text()
        read_elsewhere += [f"{path.relative_to(KIT_ROOT)}: {name}" for name in re.findall(
            r"environ(?:\.get\(|\[)\s*\"(FORKLAB_\w+)\"", text)]
        through_settings |= set(re.findall(
            r"\b(?:whole_number|positive_number|one_of|folder|optional_folder)\("
            r"\s*\"(FORKLAB_\w+)\"", text))
    through_settings.add("FORKLAB_LANG")  # i18n.py: through settings.one_of, by its name
    assert not read_elsewhere, "read without grader/settings.py: " + ", ".join(read_elsewhere)
    readme = (KIT_ROOT / "grader" / "README.md").read_text()
    table = {name for row in readme.splitlines() if row.startswith("| `FORKLAB_")
             for name in re.findall(r"`(FORKLAB_\w+)`", row.split("|")[1])}
    assert through_settings <= table, sorted(through_settings - table)


def lab_code_names() -> set:
    """The names of the labs' own functions, from their headers: the wrappers
    (Accept, Writen, ...) and the compound names (serve_client, ...)."""
    names = set()
    for header in KIT_ROOT.glob("lab*/*.h"):
        for found in re.finditer(r"\b([A-Za-z]\w*)\s*\([^;{()]*\)\s*(?:noexcept\s*)?;",
                                 header.read_text()):
            name = found.group(1)
            if name[0].isupper() and not name.isupper() or "_" in name:
                names.add(name)
    return names


def strings_of(path: Path):
    """(line, text) of the string constants of a Python file, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def test_the_harness_names_no_lab_and_none_of_the_labs_code():
    """Lab knowledge lives beside the graded tests (grader/tests/checks/): the
    harness's code and messages name no lab folder and no function of the
    labs (its comments may, as examples)."""
    from grader.harness import manifest
    labs = [entry.folder for entry in manifest.read()]
    names = lab_code_names()
    assert {"serve_client", "Writen", "open_listener"} <= names  # the check sees the headers
    found = []
    for path in sorted((KIT_ROOT / "grader" / "harness").glob("*.py")):
        for line, text in strings_of(path):
            hits = [lab for lab in labs if lab in text]
            # A wrapper by its call (Read(...), not the English word), a
            # compound name (serve_client) anywhere.
            hits += [name for name in names
                     if re.search(rf"\b{name}\(" if "_" not in name else rf"\b{name}\b", text)]
            found += [f"{path.relative_to(KIT_ROOT)}:{line}: {', '.join(hits)}"] if hits else []
    assert not found, found


def test_no_placeholder_left_untranslated():
    """make new-lab marks the Chinese it cannot write with 【待翻译】 ("to
    translate"); no file of the kit carries the mark (tools/new_lab.py, which
    writes it, tools/lab_check.py, which reports it, and the documents that
    name it, aside)."""
    writers = {"tools/new_lab.py", "tools/lab_check.py", "grader/selftest/test_hygiene.py",
               "grader/selftest/test_new_lab.py", "ARCHITECTURE.md"}
    left = [str(path.relative_to(KIT_ROOT)) for path in kit_files()
            if path.is_file() and str(path.relative_to(KIT_ROOT)) not in writers
            and "【待翻译】".encode() in path.read_bytes()]
    assert not left, f"translate the placeholders of make new-lab in: {', '.join(left)}"
