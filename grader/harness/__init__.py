"""forklab's grader harness: the pieces every lab's graded tests stand on.

- kit:      the labs, their student files, and building a submission in a scratch copy
- scoring:  the pytest plugin -- points, hints, dependencies, the score table, JSON, JUnit
- procs:    starting student programs in their own session, inspecting and ending them
- net:      free ports, waiting for a server to listen, Python clients
- expect:   assertions whose failure message a student can read
"""

# What every test module uses.
from .scoring import graded, note, observed_cause, replace_hint  # noqa: F401
