"""The tables of labs in README.md and the handout's READMEs are generated
(tools/lab_tables.py) from labs.txt and each lab's summary line."""

import shutil

import pytest

from conftest import KIT_ROOT

from tools import generated, lab_tables


def copy_of_the_kit_s_text(target):
    """labs.txt, the READMEs that list the labs and every lab README, in target."""
    rels = ["labs.txt", *lab_tables.TABLES,
            *(str(p.relative_to(KIT_ROOT)) for p in KIT_ROOT.glob("lab*/README*.md"))]
    for rel in rels:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(KIT_ROOT / rel, target / rel)
    return target


def test_every_table_of_labs_is_what_the_tool_generates():
    stale = [str(path.relative_to(KIT_ROOT)) for path, text in
             lab_tables.expected_readmes().items() if path.read_text() != text]
    assert not stale, f"run make graded-tables: {stale}"


def test_a_new_lab_gets_its_row_from_labs_txt_and_its_readme(tmp_path):
    root = copy_of_the_kit_s_text(tmp_path)
    (root / "lab99_pool").mkdir()
    (root / "lab99_pool" / "README.md").write_text(
        "# lab99_pool\n<!-- you learn: a pool of children forked in advance -->\n")
    (root / "lab99_pool" / "README.zh.md").write_text(
        "# lab99_pool\n<!-- you learn: 预先派生的子进程池 -->\n")
    with open(root / "labs.txt", "a") as f:
        f.write("lab99_pool server.cpp server lab01_wrap a pool of children\n")
    expected = lab_tables.expected_readmes(root)
    assert ("| [lab99_pool](lab99_pool/README.md) | `server.cpp` | a pool of children forked "
            "in advance |") in expected[root / "README.md"]
    assert ("| [lab99_pool](lab99_pool/README.zh.md) | `server.cpp` | 预先派生的子进程池 |"
            in expected[root / "handout" / "README.zh.md"])


def test_a_lab_readme_without_its_summary_is_a_clear_error(tmp_path):
    root = copy_of_the_kit_s_text(tmp_path)
    readme = root / "lab03_fork" / "README.md"
    readme.write_text("\n".join(line for line in readme.read_text().splitlines()
                                if not line.startswith("<!-- you learn:")))
    with pytest.raises(SystemExit, match="lab03_fork/README.md needs one line"):
        lab_tables.expected_readmes(root)


def test_a_readme_without_the_region_is_a_clear_error(tmp_path):
    root = copy_of_the_kit_s_text(tmp_path)
    readme = root / "handout" / "README.md"
    readme.write_text(readme.read_text().replace(lab_tables.BEGIN, ""))
    with pytest.raises(SystemExit, match="handout/README.md needs one region"):
        lab_tables.expected_readmes(root)


def test_a_stale_table_is_named_then_rewritten(tmp_path, capsys):
    root = copy_of_the_kit_s_text(tmp_path)
    with open(root / "labs.txt", "a") as f:
        f.write("lab99_pool server.cpp server lab01_wrap a pool of children\n")
    for name in ("README.md", "README.zh.md"):
        (root / "lab99_pool").mkdir(exist_ok=True)
        (root / "lab99_pool" / name).write_text("# lab99_pool\n<!-- you learn: a pool -->\n")
    before = (root / "README.md").read_text()
    expected = lab_tables.expected_readmes(root)
    assert generated.check_or_update(expected, False, root, "lab_tables", "the table") == 1
    assert (root / "README.md").read_text() == before
    assert "lab_tables: README.md: the table is stale" in capsys.readouterr().err
    assert generated.check_or_update(expected, True, root, "lab_tables", "the table") == 0
    assert "[lab99_pool](lab99_pool/README.md)" in (root / "README.md").read_text()
    assert generated.check_or_update(expected, False, root, "lab_tables", "the table") == 0


def test_slides_readme_lists_every_deck_by_its_description(tmp_path):
    root = copy_of_the_kit_s_text(tmp_path)
    (root / "slides" / "decks").mkdir(parents=True)
    shutil.copy(KIT_ROOT / "slides" / "README.md", root / "slides" / "README.md")
    for deck in lab_tables.english_decks(KIT_ROOT):
        shutil.copy(deck, root / "slides" / "decks" / deck.name)
    (root / "slides" / "decks" / "99-pool.md").write_text(
        '---\nmarp: true\ndescription: "lab99: a pool of `fork`ed children"\n---\n\n# lab99\n')
    expected = lab_tables.expected_readmes(root)[root / "slides" / "README.md"]
    assert "| `99-pool` | lab99: a pool of `fork`ed children |\n<!-- /decks -->" in expected
    (root / "slides" / "decks" / "99-pool.md").write_text("---\nmarp: true\n---\n\n# lab99\n")
    with pytest.raises(SystemExit, match="99-pool.md needs one line 'description"):
        lab_tables.expected_readmes(root)
