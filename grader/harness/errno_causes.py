"""The errno cause table of harness/diagnose.py: what a server's death by a
failed call means, by the errno text it printed (perr_exit and perror print
"what: strerror(errno)"), and how the line that reports the fatal call is
found in its output (_fatal_errno_line).
"""

import errno
import os
import re

from .kit import _N


# What a server's death by a failed call says, by the errno text it printed
# (perr_exit and perror print "what: strerror(errno)"): the kind of the
# cause, and the words that explain it.
ERRNO_CAUSES = {
    "EINTR": _N("a signal interrupted the call -- SIGCHLD, when a child exits -- and the server "
                "took the interruption for an error"),
    "EBADF": _N("the descriptor was closed already, or never opened: a Close of the wrong one"),
    "ENOTSOCK": _N("the descriptor is no socket: a Close of the wrong one, or a mixed-up variable"),
    "EINVAL": _N("the socket does not listen (any more): a Close of the wrong one, or Listen "
                 "forgotten"),
    "EMFILE": _N("the process ran out of descriptors: every accepted socket it never closed is "
                 "still open"),
    "ENFILE": _N("the machine ran out of descriptors"),
    "ECONNRESET": _N("one client's reset ended the whole server"),
    "EPIPE": _N("one client that left ended the whole server"),
    "EAGAIN": _N("one failed fork() ended the whole server"),
    "ENOMEM": _N("one failed fork() ended the whole server"),
}
# The same causes, the kind of the cause.
ERRNO_KINDS = {"ENOTSOCK": "EBADF", "EINVAL": "EBADF", "ENFILE": "EMFILE", "EPIPE": "ECONNRESET",
               "ENOMEM": "EAGAIN"}
_ERRNO_BY_TEXT = {os.strerror(getattr(errno, name)): name for name in ERRNO_CAUSES}
# "accept: Interrupted system call", "fork failed: Resource temporarily unavailable"
_FAILED_CALL = re.compile(r"^(?P<call>[^:\n]{1,60}): (?P<text>[^:\n]+?)\s*$")


# Calls of a server's own loop: their failure is the server's death.  A
# failed read or write of one connection is a child's business in a forking
# server (it prints the line and ends), and only ends an iterative one.
_LOOP_CALLS = re.compile(r"accept|fork|poll|select|sigsuspend|waitpid|listen", re.IGNORECASE)


def _fatal_errno_line(text: str):
    """(call, errno name, errno text) of the line of `text` that reports the
    failed call a server died of: the last one of its own loop's calls, else
    the last failed call of any kind; None if no line names a known errno."""
    found = []
    for line in text.splitlines()[-40:]:
        match = _FAILED_CALL.match(line.strip())
        name = match and _ERRNO_BY_TEXT.get(match.group("text"))
        if name:
            found.append((match.group("call"), name, match.group("text")))
    own = [f for f in found if _LOOP_CALLS.search(f[0])]
    return (own or found or [None])[-1]
