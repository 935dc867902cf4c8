"""What the graded tests know of the labs, beside them: the protocol, driving
a server or a client under test, the graded tests several labs share, and the
Python reference server lab05's client is graded against.

The harness (grader/harness/) knows none of it.  A test module imports from
here; no test module imports another.
"""
