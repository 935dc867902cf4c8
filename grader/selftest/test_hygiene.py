"""The kit's files as a maintainer leaves them: no merge left half done."""

import subprocess

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
