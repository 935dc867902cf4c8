"""The manifest of the labs (labs.txt at the kit root), read for Python.

Each line: folder, student file, program ("-": graded through its unit tests),
the earlier labs it builds on (comma-separated, "-": none), and a title (the
rest of the line).  The Makefile reads the first column with awk.
"""

from dataclasses import dataclass
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = KIT_ROOT / "labs.txt"


class ManifestError(Exception):
    pass


@dataclass(frozen=True)
class LabEntry:
    folder: str
    student_file: str  # relative to the lab folder
    program: str  # "" when the lab is graded through its unit tests
    builds_on: tuple
    title: str


def read(path: Path = MANIFEST) -> list:
    """The labs of the manifest, in order."""
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split(None, 4)
        if len(fields) != 5:
            raise ManifestError(f"{path.name}:{number}: expected 'folder file program builds-on "
                                f"title', got {line!r}")
        folder, student_file, program, builds_on, title = fields
        entries.append(LabEntry(folder, student_file, "" if program == "-" else program,
                                () if builds_on == "-" else tuple(builds_on.split(",")), title))
    names = [e.folder for e in entries]
    for entry in entries:
        unknown = [dep for dep in entry.builds_on if dep not in names[:names.index(entry.folder)]]
        if unknown:
            raise ManifestError(f"{path.name}: {entry.folder} builds on {unknown}, which is not "
                                f"an earlier lab")
    if len(set(names)) != len(names):
        raise ManifestError(f"{path.name}: a lab is listed twice")
    return entries
