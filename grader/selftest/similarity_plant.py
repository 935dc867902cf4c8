"""A planted copy: what a student who copies a C++ file and hides it does.

plant(text, keep) returns the text with
- its comments removed;
- every name the file declares (variables, parameters, its own functions)
  renamed, except those in keep (the names of the headers: the interface
  the grader calls) and main;
- the functions of each scope (the file, each namespace) in the reverse
  order, with a declaration put first for each function now used before it
  is defined (unless a header declares it), so that it still compiles.

Deterministic: the same text gives the same copy.  The calibration of
--similarity's default threshold (similarity_calibrate.py) and the selftests
use it; nothing here is used by the grading, and it stays out of the handout
(grader/selftest/).
"""

import re

KEYWORDS = set("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
extern false final float for friend goto if inline int long mutable namespace new noexcept not
not_eq nullptr operator or or_eq override private protected public register reinterpret_cast
requires return short signed sizeof static static_assert static_cast struct switch template
this thread_local throw true try typedef typeid typename union unsigned using virtual void
volatile wchar_t while xor xor_eq main
""".split())
# A name after one of these is not being declared.
NOT_A_TYPE = {"return", "case", "goto", "else", "new", "delete", "throw", "sizeof", "using",
              "namespace", "typedef", "co_return", "co_yield", "co_await", "operator", "struct",
              "class", "enum", "union", "not", "and", "or", "alignof", "decltype", "do"}
DECLARED_BEFORE = {"=", ";", ",", ")", "(", "[", "{", ":"}

TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<rawstring>(?:u8|[uUL])?R"(?P<delim>[^(\s]*)\(.*?\)(?P=delim)")
  | (?P<string>(?:u8|[uUL])?"(?:\\.|[^"\\\n])*")
  | (?P<char>(?:u8|[uUL])?'(?:\\.|[^'\\\n])+')
  | (?P<number>\.?\d(?:[\w.]|'(?=\w)|[eEpP][+-])*)
  | (?P<name>[A-Za-z_]\w*)
  | (?P<punct>::|->|\.\.\.|&&|\|\||<<=?|>>=?|[-+*/%&|^!=<>]=|\+\+|--|.)
""", re.VERBOSE | re.DOTALL | re.MULTILINE)


PREPROC = re.compile(r"#(?:[^\n]*\\\n)*[^\n]*")


def tokens(text: str) -> list:
    """[(kind, text)] covering the whole text."""
    found, pos = [], 0
    while pos < len(text):
        if text[pos] == "#" and not text[text.rfind("\n", 0, pos) + 1:pos].strip():
            match = PREPROC.match(text, pos)
            found.append(("preproc", match.group()))
            pos = match.end()
            continue
        match = TOKEN.match(text, pos)
        kind = match.lastgroup if match.lastgroup != "delim" else "rawstring"
        found.append((kind, match.group()))
        pos = match.end()
    return found


def names_of(text: str) -> set:
    """Every identifier of a C++ text (outside its comments and literals)."""
    return {t for kind, t in tokens(text) if kind == "name"}


def _significant(toks: list) -> list:
    """Indexes of the tokens that are neither space nor comment."""
    return [i for i, (kind, _) in enumerate(toks) if kind not in ("space", "comment")]


def declared_names(toks: list) -> list:
    """The names the text declares, in the order they first appear."""
    sig = _significant(toks)
    found = []
    for n, i in enumerate(sig):
        kind, name = toks[i]
        if kind != "name" or name in KEYWORDS or n == 0 or n + 1 >= len(sig):
            continue
        before, after = toks[sig[n - 1]][1], toks[sig[n + 1]][1]
        if after not in DECLARED_BEFORE:
            continue
        k = n - 1
        while k > 0 and toks[sig[k]][1] in ("*", "&", "&&"):
            k -= 1
        type_end = toks[sig[k]]
        if k and toks[sig[k - 1]][1] in (".", "->"):
            continue  # a.b & c: an expression
        if (type_end[0] == "name" and type_end[1] not in NOT_A_TYPE) or type_end[1] == ">":
            if before not in ("::", ".", "->") and name not in found:
                found.append(name)
    # Structured bindings: auto [a, b] = ...
    for n, i in enumerate(sig[:-1]):
        if toks[i][1] == "auto":
            k = n + 1
            while k < len(sig) and toks[sig[k]][1] in ("&", "&&"):
                k += 1
            if k < len(sig) and toks[sig[k]][1] == "[":
                k += 1
                while k < len(sig) and toks[sig[k]][1] != "]":
                    if toks[sig[k]][0] == "name" and toks[sig[k]][1] not in found:
                        found.append(toks[sig[k]][1])
                    k += 1
    return found


def rename(toks: list, keep: set) -> list:
    """The tokens with the names the text declares renamed (v1, v2...),
    all but those in keep, the members (names used after . or ->) and the
    names in capitals (macros)."""
    taken = {t for kind, t in toks if kind == "name"}
    sig = _significant(toks)
    members = {toks[i][1] for k, i in enumerate(sig) if k and toks[sig[k - 1]][1] in (".", "->")}
    new_names, n = {}, 0
    for name in declared_names(toks):
        if name in keep or name in KEYWORDS or name in members or name.isupper():
            continue
        n += 1
        while f"v{n}" in taken:
            n += 1
        new_names[name] = f"v{n}"
    previous = {i: toks[sig[k - 1]][1] if k else "" for k, i in enumerate(sig)}
    return [(kind, new_names[t]) if kind == "name" and t in new_names
            and previous.get(i) not in (".", "->", "::") else (kind, t)
            for i, (kind, t) in enumerate(toks)]


def _chunks(toks: list, start: int, end: int) -> list:
    """The items of one scope, toks[start:end]: [(kind, first, last)] with
    kind "function", "namespace" (the indexes of its braces' insides
    instead), "other"; each item's leading space belongs to it."""
    items, i = [], start
    while i < end:
        first = i
        while i < end and toks[i][0] == "space":
            i += 1
        if i >= end:
            items.append(("other", first, end))
            break
        if toks[i][0] == "preproc":
            items.append(("other", first, i + 1))
            i += 1
            continue
        head_start, depth, body = i, 0, None
        while i < end:
            t = toks[i][1] if toks[i][0] == "punct" else None
            if t in ("(", "["):
                depth += 1
            elif t in (")", "]"):
                depth -= 1
            elif t == ";" and depth == 0:
                i += 1
                items.append(("other", first, i))
                break
            elif t == "{" and depth == 0:
                body = i
                braces, i = 1, i + 1
                while i < end and braces:
                    if toks[i][1] == "{" and toks[i][0] == "punct":
                        braces += 1
                    elif toks[i][1] == "}" and toks[i][0] == "punct":
                        braces -= 1
                    i += 1
                head = [t for kind, t in toks[head_start:body] if kind not in ("space", "comment")]
                nxt = i
                while nxt < end and toks[nxt][0] in ("space", "comment"):
                    nxt += 1
                if head and head[0] == "namespace":
                    items.append(("namespace", first, i, body + 1, i - 1))
                elif nxt < end and toks[nxt][1] == ";":
                    i = nxt + 1
                    items.append(("other", first, i))
                elif "(" in head and head[0] not in ("struct", "class", "enum", "union", "extern"):
                    items.append(("function", first, i, body))
                else:
                    items.append(("other", first, i))
                break
            i += 1
        else:
            items.append(("other", first, end))
    return items


def _function_name(toks: list, first: int, body: int) -> str:
    name = ""
    for kind, t in toks[first:body]:
        if kind == "name":
            name = t
        elif t == "(":
            return name
    return name


def reorder(toks: list, keep: set, start: int = 0, end: int = None) -> list:
    """The tokens of one scope with its functions in the reverse order, and
    declarations first of those now used before their definition."""
    end = len(toks) if end is None else end
    items = _chunks(toks, start, end)
    pieces = []
    for item in items:
        if item[0] == "namespace":
            _, first, last, inner_start, inner_end = item
            pieces.append(("other", toks[first:inner_start] + reorder(toks, keep, inner_start,
                                                                      inner_end)
                           + toks[inner_end:last], ""))
        elif item[0] == "function":
            _, first, last, body = item
            head = [tok for tok in toks[first:body] if tok[0] != "comment"]
            pieces.append(("function", toks[first:last], _function_name(toks, first, body), head))
        else:
            pieces.append(("other", toks[item[1]:item[2]], ""))
    # Runs of functions with nothing but space between them: each reversed,
    # so that no function moves above a type or constant it uses.
    runs, run = [], []
    for n, piece in enumerate(pieces):
        if piece[0] == "function":
            run.append(n)
        elif any(kind != "space" for kind, _ in piece[1]):
            runs.append(run)
            run = []
    runs.append(run)
    out_pieces = list(pieces)
    declarations = {}
    for run in (r for r in runs if len(r) > 1):
        order = [pieces[n] for n in reversed(run)]
        for slot, piece in zip(run, order):
            out_pieces[slot] = piece
        declared = []
        for k, piece in enumerate(order):
            name = piece[2]
            if not name or name in keep or name in declared:
                continue
            if any(kind == "name" and t == name for p in order[:k] for kind, t in p[1]):
                declared.append(name)
                head = piece[3]
                while head and head[0][0] == "space":
                    head = head[1:]
                while head and head[-1][0] == "space":
                    head = head[:-1]
                declarations.setdefault(run[0], []).extend(
                    [("space", "\n")] + head + [("punct", ";")])
    out = []
    for n, piece in enumerate(out_pieces):
        if n in declarations:
            out += declarations[n] + [("space", "\n")]
        out += piece[1]
    return out


def plant(text: str, keep: set = frozenset()) -> str:
    """A disguised copy of the C++ text: see the module's docstring."""
    toks = []
    for tok in tokens(text):
        if tok[0] != "comment":
            toks.append(tok)
        elif toks and toks[-1][0] == "space" and "\n" in toks[-1][1]:
            # a comment alone on its line: its line goes with it
            toks[-1] = ("space", toks[-1][1][:toks[-1][1].rfind("\n")])
    toks = rename(toks, set(keep))
    toks = reorder(toks, set(keep))
    lines = [line.rstrip() for line in "".join(t for _, t in toks).splitlines()]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip("\n") + "\n"
