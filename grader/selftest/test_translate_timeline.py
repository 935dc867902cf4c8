"""The Chinese deck's timelines are the English ones translated by
tools/translate_timeline.py with the grader's own messages: every text
matched, and the files kept in slides/diagrams/ are what the tool writes."""

import subprocess
import sys
from pathlib import Path

import pytest

from tools import translate_timeline

KIT_ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = KIT_ROOT / "slides/diagrams"
# The side-by-side picture's own title (no message makes it).
TITLES = {"timeline-lab03-lab04": "父进程关闭每个接受的已连接套接字：lab03（左）从不回收，lab04（右）回收每个子进程"}
NAMES = ["timeline-lab03-fork", "timeline-lab04-sigchld", "timeline-lab03-lab04"]


@pytest.mark.parametrize("name", NAMES)
def test_the_kept_chinese_timeline_is_the_translation(name, tmp_path):
    if not (DIAGRAMS / f"{name}.svg").exists():
        pytest.skip("no slides in this copy of the kit")
    out = tmp_path / f"{name}.zh.svg"
    title = ["--title", TITLES[name]] if name in TITLES else []
    proc = subprocess.run([sys.executable, "-m", "tools.translate_timeline", *title,
                           str(DIAGRAMS / f"{name}.svg"), str(out)],
                          cwd=KIT_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == (DIAGRAMS / f"{name}.zh.svg").read_text(), (
        f"slides/diagrams/{name}.zh.svg is not the translation of {name}.svg: rerun "
        f"tools/python -m tools.translate_timeline {' '.join(title)} slides/diagrams/{name}.svg "
        f"slides/diagrams/{name}.zh.svg")


def test_a_text_no_message_makes_is_named():
    before = translate_timeline.i18n.language()
    translate_timeline.i18n.setup("zh")
    try:
        known = translate_timeline.patterns(translate_timeline.messages())
        svg = '<svg><text x="1">3 client connects</text><text x="2">made up words</text></svg>'
        translated, missed = translate_timeline.translate_svg(svg, known)
    finally:
        translate_timeline.i18n.setup(before, warn=False)
    assert missed == ["made up words"]
    assert "made up words" in translated and "3 client connects" not in translated
