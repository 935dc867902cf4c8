"""The template of the grader's messages (grader/locale/forklab.pot, `make
pot`): it holds every message the sources give, and msgmerge with it keeps
every translation a source still uses."""

import os
import shutil
import subprocess

import pytest

from conftest import KIT_ROOT


@pytest.mark.skipif(shutil.which("msgmerge") is None, reason="no msgmerge (Debian: gettext)")
def test_make_pot_then_msgmerge_keeps_every_translation(tmp_path):
    """The locale README's steps: the template holds every message the check
    asks for, so msgmerge keeps each translation a source still uses."""
    from tools import check_translations as ct
    pot, po = tmp_path / "forklab.pot", tmp_path / "forklab.po"
    assert ct.write_template(KIT_ROOT, pot) == 0
    shutil.copy(KIT_ROOT / ct.PO_FILE, po)
    subprocess.run(["msgmerge", "--quiet", "--update", "--no-wrap", "--no-fuzzy-matching",
                    "--backup=none", str(po), str(pot)], check=True)
    before, after = ct.read_po(KIT_ROOT / ct.PO_FILE), ct.read_po(po)
    used = {text for text, _where in ct.source_messages(KIT_ROOT) if text}
    lost = [m for m in used if m in before and after.get(m, (None,))[0] != before[m][0]]
    assert not lost, f"msgmerge lost {len(lost)} translations, e.g. {lost[:3]}"
    assert subprocess.run(["msgfmt", "--check-format", "-o", os.devnull, str(po)]).returncode == 0


def test_the_committed_template_holds_the_messages_of_the_sources(tmp_path):
    """grader/locale/forklab.pot is what `make pot` writes: a message added to
    or dropped from the grader shows here until the template is remade (the
    places, file:line, are left out: they move with every edit)."""
    from tools import check_translations as ct
    fresh = tmp_path / "forklab.pot"
    assert ct.write_template(KIT_ROOT, fresh) == 0
    committed = set(ct.read_po(KIT_ROOT / "grader" / "locale" / "forklab.pot"))
    wanted = set(ct.read_po(fresh))
    assert committed == wanted, (
        f"run make pot: {len(wanted - committed)} messages missing from forklab.pot "
        f"(e.g. {sorted(wanted - committed)[:2]}), {len(committed - wanted)} no longer used "
        f"(e.g. {sorted(committed - wanted)[:2]})")
