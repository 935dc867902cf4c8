"""lab01's graded doctest cases: the points and hint of each case of
lab01_wrap/test_wrap.cpp by its name, the cases left out (with why), and the
list of cases the built unit-test binary has (`--list-test-cases`), which
the selftest checks against both.
"""

from grader.harness.kit import _N

from . import unit_cases

# What each case's graded test does (the second paragraph of its docstring).
CASE_DESCRIPTION = _N("its doctest case of `test_wrap.cpp`, run alone")

# The unit-test binary in the built lab folder.
TEST_BINARY = "build/g++/test_wrap"

SETUP_DIES = _N("A set-up wrapper must end the program through perr_exit(): print \"CALL: "
                "strerror(errno)\" on stderr and exit with status 1. See wrap.h.")
ADDRESS_IN_MESSAGE = _N("Bind and Connect name the address in their message, \"bind to "
                        "127.0.0.1:6666: Address already in use\": save errno before you format "
                        "the address (getnameinfo may change it), restore it, then call "
                        "perr_exit.")
EINTR_RETRY = _N("A signal handler that runs while the call blocks makes it fail with errno == "
                 "EINTR even though nothing went wrong: loop and call it again.")
RETURN_MINUS_ONE = _N("On an error that is not retried, the I/O wrappers return -1 and leave "
                      "errno as the system call set it; they must not exit (one bad connection "
                      "must not end a server).")
SHORT_TRANSFER = _N("read() and write() on a socket may move fewer bytes than asked. Loop, "
                    "advancing the pointer and shrinking the count, until all n bytes moved "
                    "(Readn stops early only at end of file).")
READLINE = _N("Readline keeps unread bytes in the LineBuffer between calls; it stores at most "
              "maxlen - 1 bytes plus a '\\0', stops after '\\n', and never drops what did not "
              "fit: the next call returns it. Count bytes, don't use strlen().")

# Every doctest case of test_wrap.cpp is graded (here) or excluded (EXCLUDED,
# with the reason); selftest/test_lab01_cases.py lists the cases of the built
# binary and fails on a case that is neither, or on a name here that the
# binary does not have.
# (doctest case name, points, hint); _N marks the names and hints for the .po.
CASES = [
    (_N("perr_exit: prints the message and strerror then exits 1"), 1,
     _N("perr_exit(what) prints \"what: strerror(errno)\" and a newline on stderr, then exit(1).")),
    (_N("Socket: returns a TCP socket"), 1, _N("Socket returns what socket() returned.")),
    (_N("Socket: failure exits 1 naming the call"), 1, SETUP_DIES),
    (_N("Bind and Listen: the socket accepts connections"), 1,
     _N("Bind and Listen call bind() and listen() with their arguments, unchanged.")),
    (_N("Bind: failure exits 1 naming the address"), 1, ADDRESS_IN_MESSAGE),
    (_N("Listen: failure exits 1 naming the call"), 1, SETUP_DIES),
    (_N("Connect: connects to a listening socket"), 1,
     _N("Connect calls connect() with its arguments, unchanged.")),
    (_N("Connect: refused connection exits 1 naming the address"), 1, ADDRESS_IN_MESSAGE),
    (_N("Close: closes the descriptor"), 1, _N("Close calls close() once.")),
    (_N("Close: failure exits 1 naming the call"), 1, SETUP_DIES),
    (_N("Accept: returns the connection and the peer address"), 1,
     _N("Accept passes the caller's address buffer and length on to accept() and returns the new "
        "descriptor.")),
    (_N("Accept: retries after EINTR"), 2, EINTR_RETRY),
    (_N("Accept: retries after ECONNABORTED"), 2,
     _N("ECONNABORTED means one connection was aborted before accept() took it (where POSIX "
        "systems report a client's early reset; Linux usually hands over the connection and its "
        "first read fails with ECONNRESET). It concerns only that client: accept again.")),
    (_N("Accept: retries after a network error of the new connection"), 2,
     _N("Linux passes an error pending on the new connection through accept() (accept(2), \"Error "
        "handling\"): ENETDOWN, EPROTO, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP, "
        "ENETUNREACH, and EPERM from a firewall. The listening socket is fine: accept again, as "
        "after EINTR. Neither exit nor return -1.")),
    (_N("Accept: returns -1 at once on EBADF or EINVAL or ENOTSOCK"), 1,
     _N("EBADF, EINVAL and ENOTSOCK mean the caller passed a wrong descriptor, and asking again "
        "cannot help: return -1 after that one call. On an error that is not retried, the I/O "
        "wrappers return -1 and leave errno as the system call set it; they must not exit (one "
        "bad connection must not end a server).")),
    (_N("Accept: resets the address length before each retry"), 2,
     _N("Put the caller's *salenptr back before every attempt: Linux leaves it alone when "
        "accept() fails, but other systems may not, and a retry given a length of 1 gets a "
        "truncated address (the course note resets it before every Accept for the same reason).")),
    (_N("Accept: returns -1 on EMFILE instead of exiting"), 2,
     _N("EMFILE (too many open descriptors) must not end the server: return -1 with errno set and "
        "let the caller back off. On an error that is not retried, the I/O wrappers return -1 and "
        "leave errno as the system call set it; they must not exit (one bad connection must not "
        "end a server).")),
    (_N("Accept: retries after a real signal interrupts it"), 2, EINTR_RETRY),
    (_N("Read: returns the bytes available"), 1,
     _N("Read returns what read() returned: 0 at end of file.")),
    (_N("Read: retries after EINTR"), 2, EINTR_RETRY),
    (_N("Read: retries after a real signal interrupts it"), 2, EINTR_RETRY),
    (_N("Read: returns -1 with errno on other errors"), 1, RETURN_MINUS_ONE),
    (_N("Write: retries after EINTR"), 2, EINTR_RETRY),
    (_N("Write: returns -1 with EPIPE when the peer has gone"), 1, RETURN_MINUS_ONE),
    (_N("Readn: loops over short reads"), 2, SHORT_TRANSFER),
    (_N("Readn: retries after EINTR in mid-transfer"), 1,
     _N("Readn should read through Read, which already retries EINTR. read() and write() on a "
        "socket may move fewer bytes than asked. Loop, advancing the pointer and shrinking the "
        "count, until all n bytes moved (Readn stops early only at end of file).")),
    (_N("Readn: returns a short count at end of file"), 1,
     _N("When read() returns 0 before n bytes arrived, Readn returns the bytes it has (0 if "
        "none).")),
    (_N("Readn: returns -1 with errno on error"), 1, RETURN_MINUS_ONE),
    (_N("Writen: loops over short writes"), 2, SHORT_TRANSFER),
    (_N("Writen: retries after EINTR in mid-transfer"), 1,
     _N("Writen should write through Write, which already retries EINTR. read() and write() on a "
        "socket may move fewer bytes than asked. Loop, advancing the pointer and shrinking the "
        "count, until all n bytes moved (Readn stops early only at end of file).")),
    (_N("Writen: returns -1 with EPIPE when the peer has gone"), 1, RETURN_MINUS_ONE),
    (_N("Readn and Writen: carry every byte value including NUL"), 1,
     _N("Data is bytes, not a C string: never use strlen() or stop at '\\0'.")),
    (_N("Readline: returns one line per call"), 2, READLINE),
    (_N("Readline: splits a long line without dropping bytes"), 2, READLINE),
    (_N("Readline: lines cross buffer refills and short reads"), 2,
     _N("When the LineBuffer runs dry in mid-line, refill it with Read and go on copying. "
        "Readline keeps unread bytes in the LineBuffer between calls; it stores at most maxlen - "
        "1 bytes plus a '\\0', stops after '\\n', and never drops what did not fit: the next call "
        "returns it. Count bytes, don't use strlen().")),
    (_N("Readline: returns the last line without a newline at end of file"), 1,
     _N("At end of file, return the bytes of the unfinished line; the call after returns 0.")),
    (_N("Readline: keeps NUL and bytes above 0x7f"), 1,
     _N("Copy bytes with memcpy/memchr or a byte loop; never strlen() or strcpy().")),
    (_N("Readline: keeps a separate buffer per descriptor"), 1,
     _N("All state lives in the LineBuffer the caller passes: no static variables.")),
    (_N("Readline: rejects a buffer smaller than 2 bytes"), 1,
     _N("With maxlen < 2 there is no room for a byte and the '\\0': set errno = EINVAL, "
        "return -1.")),
    (_N("Readline: returns -1 with errno on error"), 1, RETURN_MINUS_ONE),
]

# Doctest cases that are not graded, each with the reason.  Empty: every case
# of test_wrap.cpp is worth points.
EXCLUDED = {}


def unaccounted(listed) -> tuple:
    """(cases neither graded nor excluded, names graded or excluded that the
    binary does not list)."""
    return unit_cases.unaccounted(listed, CASES, EXCLUDED)


listed_cases = unit_cases.listed_cases
