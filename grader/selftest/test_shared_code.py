"""The server functions a student carries from lab to lab are copied on
purpose (each lab's handout hides its own copy): the reference copies must
stay equal, or a fix made in one lab would be missing from the next."""

import re

from conftest import KIT_ROOT

# Function -> the labs whose reference bodies must be identical.  lab06's
# port_from_args differs on purpose (its usage line names -n and -g).
CARRIED = {
    "uppercase": ("lab02_single", "lab03_fork", "lab04_sigchld", "lab06_limits"),
    "port_from_args": ("lab02_single", "lab03_fork", "lab04_sigchld"),
    "open_listener": ("lab02_single", "lab03_fork", "lab04_sigchld", "lab06_limits"),
    "serve_client": ("lab02_single", "lab03_fork", "lab04_sigchld", "lab06_limits"),
    "ignore_sigpipe": ("lab02_single", "lab03_fork", "lab04_sigchld", "lab06_limits"),
    "after_accept_error": ("lab02_single", "lab03_fork", "lab04_sigchld", "lab06_limits"),
}
FUNCTION = re.compile(r"\b(\w+)\([^)]*\)\n\{\n    // BEGIN SOLUTION[^\n]*\n(.*?)    // END SOLUTION\n\}",
                      re.S)


def reference_bodies(lab: str) -> dict:
    text = (KIT_ROOT / lab / "server.cpp").read_text()
    return {m.group(1): m.group(2) for m in FUNCTION.finditer(text)}


def test_carried_functions_are_the_same_in_every_lab():
    bodies = {lab: reference_bodies(lab) for labs in CARRIED.values() for lab in labs}
    differ = []
    for name, labs in CARRIED.items():
        first = bodies[labs[0]].get(name)
        assert first, f"{labs[0]}/server.cpp has no reference body for {name}"
        differ += [f"{name}: {lab} differs from {labs[0]}" for lab in labs[1:]
                   if bodies[lab].get(name) != first]
    assert not differ, "\n".join(differ)


# The header declarations a lab carries from the lab before it.  lab06's
# header words its comments for its own, larger program, so it is left out.
HEADER_LABS = ("lab02_single", "lab03_fork", "lab04_sigchld")
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


def test_carried_declarations_are_the_same_in_every_header():
    first, *later = HEADER_LABS
    carried = header_blocks(first)
    assert set(CARRIED) <= set(carried), f"{first}/server.h lacks a carried declaration"
    differ = [f"{name}: {lab}/server.h differs from {first}/server.h"
              for lab in later for name, block in carried.items()
              if header_blocks(lab).get(name) != block]
    assert not differ, "\n".join(differ)
