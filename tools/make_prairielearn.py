"""`make prairielearn`: what a PrairieLearn course needs to grade with the kit.

Writes OUT/prairielearn/ (default dist/prairielearn/):

    image/Dockerfile          the grading image: Debian, the packages grading
                              needs (GRADE_PACKAGES of the top Makefile), the kit
    image/run_grader          the entrypoint (grader/prairielearn/run_grader)
    image/source/             the kit as the grader needs it: solutions replaced
                              by stubs, instructor-only test regions kept
    questions/forklab/LAB/    one externally graded question per lab:
        info.json             externalGradingOptions: the image, the entrypoint
        question.html         the upload of the lab's files, the grader's results
        tests/forklab.json    the labs to grade and where each upload goes

--lab LAB (repeatable or comma-separated; `make prairielearn LAB=...`) writes
the questions of those labs only; the image is the same for every lab.

The image must be built and pushed where PrairieLearn can pull it (Docker
Hub), under the name given with --image; grader/README.md has the steps.
"""

import argparse
import ast
import json
import re
import shutil
import sys
import tempfile
import uuid
from html import escape
from pathlib import Path

if __name__ == "__main__" and not __package__:  # run as a file: tools/ is no package then
    print("make_prairielearn.py: run tools/python -m tools.make_prairielearn from the kit's "
          "folder, not this file", file=sys.stderr)
    sys.exit(2)

from grader.harness import kit  # noqa: E402
from tools.make_gradescope import LabError, chosen_labs  # noqa: E402
from tools.make_handout import KIT_ROOT, MarkerError, make_handout  # noqa: E402

ENTRYPOINT = "/forklab/run_grader"
# The grading cache of the kit's compiled parts, filled when the image is built.
IMAGE_CACHE = "/forklab/cache"
DEFAULT_IMAGE = "change-me/forklab-grader"
# PrairieLearn's longest grading job.
TIMEOUT_SECONDS = 600

DOCKERFILE = """\
# forklab's grading image for PrairieLearn (`make prairielearn`).
FROM debian:bookworm-slim
RUN apt-get update \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
        {packages} \\
    && rm -rf /var/lib/apt/lists/*
COPY source/ /forklab/source/
COPY run_grader {entrypoint}
# The kit's own compiled parts (lab01's unit tests, the support libraries),
# compiled once here instead of in every grading.
ENV FORKLAB_CACHE={cache}
RUN cd /forklab/source \\
    && python3 -c 'from grader.harness import kit; assert kit.cached_kit_objects()'
"""


def grade_packages(root: Path) -> list:
    """The Debian packages grading needs: the top Makefile's GRADE_PACKAGES."""
    match = re.search(r"^GRADE_PACKAGES\s*:=\s*(.+)$", (root / "Makefile").read_text(),
                      re.MULTILINE)
    if match is None:
        raise MarkerError("the top Makefile has no GRADE_PACKAGES line")
    return match.group(1).split()


def graded_with(lab_name: str, root: Path = KIT_ROOT) -> tuple:
    """The other labs whose programs a lab's graded tests also build and run:
    its module's GRADED_WITH (strings, or names of module-level strings),
    read without importing the module.  () when it has none."""
    tree = ast.parse((root / "grader" / "tests" / f"test_{lab_name}.py").read_text())
    strings, listed = {}, ()
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                strings[name] = value.value
            elif name == "GRADED_WITH" and isinstance(value, (ast.Tuple, ast.List)):
                listed = value.elts
    return tuple(strings[e.id] if isinstance(e, ast.Name) else e.value for e in listed)


def uploads_of(lab_name: str) -> dict:
    """{upload name: kit path}: the files a student uploads for one lab."""
    lab = kit.LABS[lab_name]
    paths = list(lab.student_files)
    for other in lab.builds_with:
        paths += kit.LABS[other].student_files
    for other in graded_with(lab_name):
        paths += kit.LABS[other].student_files
    uploads = {}
    for rel in paths:
        name = Path(rel).name
        if uploads.get(name, rel) != rel:
            raise MarkerError(f"{lab_name}: two uploads would be named {name}")
        uploads[name] = rel
    # The lab's own file first, as the question lists them.
    return dict(sorted(uploads.items(), key=lambda item: item[1] not in lab.student_files))


def info_json(lab_name: str, image: str) -> dict:
    return {
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"forklab/prairielearn/{lab_name}")),
        "title": f"forklab {lab_name}: {kit.LABS[lab_name].title}",
        "topic": "Network programming",
        "tags": ["forklab", lab_name],
        "type": "v3",
        "singleVariant": True,
        "gradingMethod": "External",
        "externalGradingOptions": {
            "enabled": True,
            "image": image,
            "entrypoint": ENTRYPOINT,
            "timeout": TIMEOUT_SECONDS,
        },
    }


def question_html(lab_name: str, uploads: dict) -> str:
    listed = ", ".join(f"<code>{escape(name)}</code> (<code>{escape(rel)}</code>)"
                       for name, rel in uploads.items())
    return f"""\
<pl-question-panel>
  <p>forklab {escape(lab_name)}: {escape(kit.LABS[lab_name].title)}.</p>
  <p>Upload {listed} from your copy of the kit. They are built with the kit's own
  Makefiles and graded by the same tests as <code>make grade</code> in
  <code>{escape(lab_name)}</code>, with partial credit.</p>
  <pl-file-upload file-names="{escape(', '.join(uploads))}"></pl-file-upload>
</pl-question-panel>

<pl-submission-panel>
  <pl-external-grader-results></pl-external-grader-results>
  <pl-file-preview></pl-file-preview>
</pl-submission-panel>
"""


def make_prairielearn(root: Path, out_dir: Path, image: str = DEFAULT_IMAGE, labs=()) -> Path:
    """OUT/prairielearn/: the image folder, and a question per lab (labs: only these)."""
    target = out_dir / "prairielearn"
    if target.exists():
        shutil.rmtree(target)
    image_dir = target / "image"
    image_dir.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = make_handout(root, Path(tmp), name="source", keep_hidden=True, tarball=False)
        shutil.move(str(source), image_dir / "source")
    shutil.copy2(root / "grader" / "prairielearn" / "run_grader", image_dir / "run_grader")
    packages = " ".join(grade_packages(root))
    (image_dir / "Dockerfile").write_text(DOCKERFILE.format(packages=packages,
                                                            entrypoint=ENTRYPOINT,
                                                            cache=IMAGE_CACHE))
    for lab_name in labs or kit.present_labs(root):
        question = target / "questions" / "forklab" / lab_name
        (question / "tests").mkdir(parents=True)
        uploads = uploads_of(lab_name)
        (question / "info.json").write_text(json.dumps(info_json(lab_name, image), indent=2)
                                            + "\n")
        (question / "question.html").write_text(question_html(lab_name, uploads))
        (question / "tests" / "forklab.json").write_text(
            json.dumps({"labs": [lab_name], "files": uploads}, indent=2) + "\n")
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build the PrairieLearn grading image "
                                                 "folder and questions.")
    parser.add_argument("--out", type=Path, default=KIT_ROOT / "dist")
    parser.add_argument("--image", default=DEFAULT_IMAGE,
                        help="the image's name on Docker Hub, for info.json "
                             f"(default: {DEFAULT_IMAGE})")
    parser.add_argument("--lab", action="append", default=[], metavar="LAB",
                        help="the question of this lab only (repeat, or LAB,LAB, for "
                             "several); default: every lab")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/-]*(:[\w.-]+)?", args.image):
        print(f"make_prairielearn: {args.image!r} is not a Docker image name "
              "(lowercase, e.g. myorg/forklab-grader)", file=sys.stderr)
        return 2
    try:
        labs = chosen_labs(args.lab)
    except LabError as exc:
        print(f"make_prairielearn: {exc}", file=sys.stderr)
        return 2
    try:
        target = make_prairielearn(KIT_ROOT, args.out.resolve(), args.image, labs)
    except MarkerError as exc:
        print(f"make_prairielearn: {exc}", file=sys.stderr)
        return 1
    print(f"prairielearn: {target}")
    if args.image == DEFAULT_IMAGE:
        print(f"  info.json names the image {DEFAULT_IMAGE}: give yours with "
              "`make prairielearn IMAGE=org/name`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
