"""The grader's message catalogue, for tools/check_translations.py: every
string the grader's sources wrap in _() or mark with _N() (and the titles and
hints of the graded tests of a module that imports i18n, and labs.txt's lab
titles) must be a msgid of grader/locale/zh/LC_MESSAGES/forklab.po with a
Chinese msgstr (not fuzzy) and the same {placeholders}.  Here: reading the .po
(read_po, chinese_catalogue), finding the messages in the sources
(source_messages), writing the gettext template (write_template, `make pot`)
and checking the catalogue (check_messages).  The Markdown twins' comparison
is check_translations.py's own.
"""

import ast
import re
from collections import Counter
from pathlib import Path

# Where the grader's messages are, and the sources that use them.
PO_FILE = Path("grader/locale/zh/LC_MESSAGES/forklab.po")
# A graded test module that imports i18n has opted in: its tests' titles
# (docstrings) and hint= texts must be translated too, and its other messages
# are wrapped in _() like the rest.
MESSAGE_SOURCES = ["grader/*.py", "grader/harness/*.py", "grader/tests/*.py", "grader/tests/*/*.py",
                   "tools/demo.py"]
PLACEHOLDER = re.compile(r"{([^{}:!]*)[^{}]*}")


def unquote(text: str) -> str:
    return ast.literal_eval(text)


def read_po(path: Path) -> dict:
    """msgid -> (msgstr, fuzzy) of a .po file (plain and msgid_plural entries)."""
    entries, fuzzy, field, current = {}, False, None, {}

    def finish():
        nonlocal current, fuzzy
        if "msgid" in current and current["msgid"] != "":
            msgstrs = [v for k, v in current.items() if k.startswith("msgstr")]
            entries[current["msgid"]] = (msgstrs, fuzzy, current.get("msgid_plural"))
        current, fuzzy = {}, False

    for line in path.read_text().splitlines() + [""]:
        line = line.strip()
        if not line:
            finish()
        elif line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[field] += unquote(line)
        else:
            keyword, _, value = line.partition(" ")
            if keyword == "msgid" and "msgid" in current:
                finish()
            field = keyword
            current[field] = unquote(value)
    return entries


def chinese_catalogue(root: Path) -> dict:
    """msgid -> msgstr of the grader's messages translated (not fuzzy)."""
    return {msgid: msgstrs[0] for msgid, (msgstrs, fuzzy, _plural)
            in read_po(root / PO_FILE).items() if msgstrs and msgstrs[0] and not fuzzy}


def graded_texts(tree):
    """(text, line) of each @graded test's title (its docstring) and hint=, in a
    test module that has opted in to translation (it imports i18n)."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "graded":
                doc = ast.get_docstring(node)
                if doc:
                    # The title is the docstring's first line (scoring.title_of), what
                    # the test does its second paragraph (scoring.description_of).
                    yield doc.splitlines()[0].strip(), node.lineno
                    paragraphs = doc.split("\n\n")
                    if len(paragraphs) > 1:
                        yield " ".join(paragraphs[1].split()), node.lineno
                for keyword in decorator.keywords:
                    if keyword.arg == "hint" and isinstance(keyword.value, ast.Constant):
                        yield keyword.value.value, decorator.lineno


def imports_i18n(tree) -> bool:
    """Whether the module imports the grader's i18n: `from grader.i18n import _`,
    `from grader import i18n` or `import grader.i18n`."""
    return any(isinstance(node, ast.Import) and any(a.name == "grader.i18n" for a in node.names)
               or isinstance(node, ast.ImportFrom) and (
                   node.module == "grader.i18n"
                   or node.module == "grader" and any(a.name == "i18n" for a in node.names))
               for node in ast.walk(tree))


def source_messages(root: Path):
    """(message, where) for every _("..."), _N("...") (marked, translated later) and
    ngettext("...", "...") in the sources, and the labs' titles in labs.txt (the
    grader prints them translated)."""
    manifest = root / "labs.txt"
    if manifest.is_file():
        for number, line in enumerate(manifest.read_text().splitlines(), start=1):
            fields = line.split("#", 1)[0].split(None, 4)
            if len(fields) == 5:
                yield fields[4].strip(), f"labs.txt:{number}"
    for path in sorted(p for pattern in MESSAGE_SOURCES for p in root.glob(pattern)):
        relative = path.relative_to(root)
        tree = ast.parse(path.read_text(), str(path))
        if relative.parts[:2] == ("grader", "tests") and imports_i18n(tree):
            for text, line in graded_texts(tree):
                yield text, f"{relative}:{line}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("_", "_N", "ngettext") and node.args:
                for arg in node.args[:2 if node.func.id == "ngettext" else 1]:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        yield arg.value, f"{relative}:{node.lineno}"
                    elif not isinstance(arg, ast.Name):
                        # _(NAME) translates a message marked with _N() where NAME is set.
                        yield None, f"{relative}:{node.lineno}"


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def po_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\t", "\\t") + '"'


def write_template(root: Path, out: Path) -> int:
    """The template msgmerge brings the .po in step with: exactly the messages
    this check asks a translation of -- the docstring titles and hints of the
    graded tests and labs.txt's titles too, which xgettext does not see."""
    where = {}
    for text, place in source_messages(root):
        if text is not None:
            where.setdefault(text, []).append(place)
    entries = ['msgid ""\nmsgstr ""\n"Project-Id-Version: forklab\\n"\n'
               '"MIME-Version: 1.0\\n"\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
               '"Content-Transfer-Encoding: 8bit\\n"\n']
    for text, places in where.items():
        flag = "#, python-brace-format\n" if placeholders(text) else ""
        entries.append(f"#: {' '.join(places)}\n{flag}msgid {po_quote(text)}\nmsgstr \"\"\n")
    out.write_text("\n".join(entries))
    print(f"check_translations: {len(where)} messages in {out}")
    return 0


def check_messages(root: Path):
    problems, count = [], 0
    po = root / PO_FILE
    found = list(source_messages(root))
    if not found:
        return 0, []
    if not po.is_file():
        return len(found), [f"{PO_FILE}: missing"]
    catalogue = read_po(po)
    for message, where in found:
        count += 1
        if message is None:
            problems.append(f"{where}: _() of something that is not a string literal")
            continue
        if message not in catalogue:
            problems.append(f"{where}: no Chinese translation in {PO_FILE}: {message!r}")
            continue
        msgstrs, fuzzy, _plural = catalogue[message]
        if fuzzy or not msgstrs or not all(msgstrs):
            problems.append(f"{where}: the Chinese translation in {PO_FILE} is "
                            f"{'fuzzy' if fuzzy else 'empty'}: {message!r}")
            continue
        for msgstr in msgstrs:
            if set(placeholders(msgstr)) != set(placeholders(message)):
                problems.append(f"{where}: placeholders differ in {PO_FILE}: {message!r}")
                break
    return count, problems
