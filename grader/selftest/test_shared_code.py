"""The server functions a student carries from lab to lab are copied on
purpose (each lab's handout hides its own copy): the reference copies must
stay equal, or a fix made in one lab would be missing from the next."""

import re

from conftest import KIT_ROOT

from grader.harness import manifest

# The functions a student carries from lab to lab.  The labs that carry one
# are read from labs.txt: every lab whose server.cpp defines it (a new lab
# that carries a function is checked without editing this file), less those
# whose copy differs on purpose, each with the reason.
FUNCTIONS = ("uppercase", "port_from_args", "open_listener", "serve_client", "ignore_sigpipe",
             "after_accept_error")
DIFFERS_ON_PURPOSE = {
    ("port_from_args", "lab06_limits"): "its usage line names -n and -g",
    ("port_from_args", "lab08_prefork"): "its usage line names -w and -m",
}
FUNCTION = re.compile(r"\b(\w+)\([^)]*\)\n\{\n    // BEGIN SOLUTION[^\n]*\n(.*?)    // END SOLUTION\n\}",
                      re.S)


def reference_bodies(lab: str) -> dict:
    text = (KIT_ROOT / lab / "server.cpp").read_text()
    return {m.group(1): m.group(2) for m in FUNCTION.finditer(text)}


def server_labs() -> list:
    """The labs of labs.txt, in order, whose student file is server.cpp."""
    return [lab.folder for lab in manifest.read() if lab.student_file == "server.cpp"
            and (KIT_ROOT / lab.folder / "server.cpp").is_file()]


def defines(lab: str, name: str) -> bool:
    return re.search(rf"^[\w:*& ]*\b{name}\([^)]*\)\n\{{", (KIT_ROOT / lab / "server.cpp").read_text(),
                     re.MULTILINE) is not None


def carried() -> dict:
    """Function -> the labs whose reference bodies must be identical."""
    return {name: tuple(lab for lab in server_labs()
                        if defines(lab, name) and (name, lab) not in DIFFERS_ON_PURPOSE)
            for name in FUNCTIONS}


CARRIED = carried()


def test_every_carried_function_is_carried_by_two_labs_and_the_exceptions_are_real():
    assert all(len(labs) >= 2 for labs in CARRIED.values()), CARRIED
    assert all(defines(lab, name) for name, lab in DIFFERS_ON_PURPOSE), DIFFERS_ON_PURPOSE


def test_carried_functions_are_the_same_in_every_lab():
    bodies = {lab: reference_bodies(lab) for labs in CARRIED.values() for lab in labs}
    differ = []
    for name, labs in CARRIED.items():
        first = bodies[labs[0]].get(name)
        assert first, f"{labs[0]}/server.cpp has no reference body for {name}"
        differ += [f"{name}: {lab} differs from {labs[0]}" for lab in labs[1:]
                   if bodies[lab].get(name) != first]
    assert not differ, "\n".join(differ)


# The header declarations a lab carries from the lab before it: every lab of
# labs.txt whose server.h declares all the carried functions, less those
# whose header words them otherwise on purpose, each with the reason.
HEADER_WORDED_OTHERWISE = {
    "lab06_limits": "its header words its comments for its own, larger program",
    "lab08_prefork": "its header words its comments for its own program, a pool of workers",
}
DECLARED = re.compile(r"\b(?:constexpr [\w:]+ (k\w+) =|[\w:]+ \*?(\w+)\([^)]*\);)")


def header_blocks(lab: str) -> dict:
    """Each declaration of server.h with the comment above it, by name."""
    text = (KIT_ROOT / lab / "server.h").read_text()
    blocks = {}
    for block in text.split("\n\n"):
        match = DECLARED.search(block)
        if match:
            blocks[match.group(1) or match.group(2)] = block.strip()
    return blocks


def header_labs() -> list:
    return [lab for lab in server_labs() if lab not in HEADER_WORDED_OTHERWISE
            and (KIT_ROOT / lab / "server.h").is_file()
            and set(FUNCTIONS) <= set(header_blocks(lab))]


def test_carried_declarations_are_the_same_in_every_header():
    first, *later = header_labs()
    assert later, "no two labs declare the carried functions"
    carried = header_blocks(first)
    assert set(CARRIED) <= set(carried), f"{first}/server.h lacks a carried declaration"
    differ = [f"{name}: {lab}/server.h differs from {first}/server.h"
              for lab in later for name, block in carried.items()
              if header_blocks(lab).get(name) != block]
    assert not differ, "\n".join(differ)
