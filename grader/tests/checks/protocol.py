"""The kit's protocol: what an uppercase-echo server owes its client.

Every byte a client sends comes back, in order, with a-z turned into A-Z and
every other byte unchanged; a reply never waits for a newline.  The server
labs and the client lab are graded against this, and the log lines the
course note's server prints.
"""

import string

from grader.harness import diagnose
from grader.harness import expect as checks
from grader.harness.kit import _N


# What the course note's server prints, and the kit's servers with it.
ACCEPTING = "Accepting connections"
RECEIVED = "received from {address} at PORT {port}"
CLOSED = "the other side has been closed."

# Text lines: letters, digits, spaces and punctuation that is not next to a
# letter in ASCII; binary() adds everything else (NUL, bytes >= 0x80...).
TEXT_ALPHABET = (string.ascii_letters * 3 + string.digits + "  .,;:!?'-()").encode()


def uppercase(data: bytes) -> bytes:
    """The protocol: a-z become A-Z, every other byte is unchanged."""
    return bytes(data).upper()  # bytes.upper() touches ASCII letters only


def expect_reply(sent: bytes, received: bytes, expected: bytes = None,
                 what=_N("the reply"), ended: str = "") -> None:
    """Fail unless received == expected (default: the uppercase of sent);
    `ended` says how the wait for it ended (net.Waited.describe())."""
    checks.expect_reply(sent, received, uppercase(sent) if expected is None else expected, what,
                        ended)


# A reply the server printed instead of sending it is a cause the diagnosis
# names (harness/diagnose.py): it needs to know what a reply looks like.
diagnose.reply_to = uppercase


# ------------------------------------------------------------------ inputs

def text(rng, size: int, newline: bool = True) -> bytes:
    """size random bytes of text lines, ending with a newline (unless
    newline=False: then no newline at all).  Always holds a lowercase letter."""
    length = max(size - 1, 1) if newline else max(size, 1)
    body = bytearray(rng.choice(TEXT_ALPHABET) for _ in range(length))
    body[0] = ord(rng.choice(string.ascii_lowercase))
    if not newline:
        return bytes(body)
    at = rng.randint(20, 80)
    while at < len(body):
        body[at] = ord("\n")
        at += rng.randint(20, 80)
    return bytes(body) + b"\n"


def binary(rng, size: int) -> bytes:
    """Every byte value 0-255 at least once, in random order, then random
    bytes up to size, ending with a newline."""
    head = bytearray(range(256))
    rng.shuffle(head)
    tail = rng.randbytes(max(size - len(head) - 1, 0))
    return bytes(head) + tail + b"\n"


