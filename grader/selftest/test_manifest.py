"""labs.txt is the kit's one list of labs: every lab folder is in it, and
everything that lists labs reads it or agrees with it."""

import re
import subprocess

from conftest import GRADER_DIR, KIT_ROOT
from grader.harness import kit, manifest

LABS = manifest.read()
NAMES = [lab.folder for lab in LABS]


def test_every_lab_folder_is_in_the_manifest_and_every_entry_is_a_lab():
    folders = sorted(p.parent.name for p in KIT_ROOT.glob("lab*/Makefile"))
    assert folders == sorted(NAMES)


def test_each_lab_has_what_a_lab_needs():
    missing = []
    for lab in LABS:
        folder = KIT_ROOT / lab.folder
        number = re.match(r"lab(\d\d)_", lab.folder).group(1)
        needed = [folder / "README.md", folder / lab.student_file,
                  GRADER_DIR / "tests" / f"test_{lab.folder}.py"]
        missing += [str(p.relative_to(KIT_ROOT)) for p in needed if not p.is_file()]
        if not list((GRADER_DIR / "mutants" / lab.folder).glob("*.mutant")):
            missing.append(f"grader/mutants/{lab.folder}/*.mutant")
        if not list((KIT_ROOT / "slides" / "decks").glob(f"{number}-*.md")):
            missing.append(f"slides/decks/{number}-*.md")
        makefile = (folder / "Makefile").read_text()
        if not re.search(rf"^LAB\s*:=\s*{lab.folder}\s*$", makefile, re.MULTILINE):
            missing.append(f"{lab.folder}/Makefile: LAB := {lab.folder}")
        if not lab.program and not re.search(r"^kit-objects:", makefile, re.MULTILINE):
            # graded through its unit tests: the grader prebuilds their objects
            missing.append(f"{lab.folder}/Makefile: kit-objects")
    assert not missing, missing


def test_the_makefile_and_the_grader_read_the_manifest():
    labs = subprocess.run(["make", "-s", "--eval=print-labs: ; @echo $(LABS)", "print-labs"],
                          cwd=KIT_ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert labs == NAMES
    assert list(kit.LABS) == NAMES
    for lab in LABS:
        assert kit.LABS[lab.folder].student_files == (f"{lab.folder}/{lab.student_file}",)


def test_the_readmes_link_every_lab():
    for readme in (KIT_ROOT / "README.md", KIT_ROOT / "handout" / "README.md"):
        text = readme.read_text()
        for name in NAMES:
            assert f"]({name}/README.md)" in text, f"{readme.name} does not link {name}"
