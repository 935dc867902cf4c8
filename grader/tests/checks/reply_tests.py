"""The server labs' graded tests of the replies: the protocol on one client,
clients one after another, and the inputs that break a naive echo loop (no
newline, many lines, a long line, megabytes, every byte value, fragments).

Shared by labs 02-06 (bound by the lab modules, as startup_tests.py says).
"""

from grader.harness import graded
from grader.harness.timing import CEILING_SECONDS
from grader.harness.kit import _N
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

from .echo_server import EXCHANGE, SERVER_STARTS, check_reply, connect, leave, start
from .protocol import binary, text

HINT_ONE_CLIENT = _N("serve_client: Read into a buffer, uppercase the n bytes read, Writen all n "
                     "of them back, and loop until Read returns 0.")
HINT_SEQUENTIAL = _N("After a client closes, the server must be ready for the next: serve_client "
                     "returns at end of file, connfd is closed, and the loop calls Accept again.")
HINT_NO_NEWLINE = _N("Answer each Read at once with what it returned: TCP has no lines, and a "
                     "client may never send '\\n'. Don't read with Readline or fgets here.")
HINT_MANY_LINES = _N("One Read may return many lines: uppercase and send back all n bytes it "
                     "returned, not only the first line.")
HINT_LONG_LINE = _N("A line longer than your buffer arrives in several Reads: answer each piece, "
                    "never cut the line at the buffer's size or drop the rest (the course "
                    "note's buffer holds 80 bytes).")
HINT_MEGABYTES = _N("Send each reply with Writen, not Write: a socket write may take fewer bytes "
                    "than asked. 4 MiB arrive in many Reads of any size: every byte of every Read "
                    "goes back, in order, none twice.")
HINT_BYTES = _N("uppercase: only a-z change. Pass toupper() an unsigned char (a char >= 0x80 is "
                "negative), or test 'a' <= c && c <= 'z' yourself. The data is bytes: use the "
                "count Read returned, never strlen() -- NUL is data.")
HINT_FRAGMENTS = _N("Each Read may return only a few bytes of what the client wrote: reply to "
                    "each piece as it comes.")


@graded(points=2, hint=HINT_ONE_CLIENT, requires=SERVER_STARTS)
def test_one_client(lab_dir, run_dir, rng):
    """replies in uppercase to one client

    three random lines on one connection: every byte back, a-z in uppercase
    """
    server = start(lab_dir, run_dir)
    with connect(server) as client:
        for number in range(1, 4):
            check_reply(server, client, text(rng, rng.randint(10, 70)),
                        what=_("the reply to line {number}").format(number=number))


@graded(points=2, hint=HINT_SEQUENTIAL, requires=EXCHANGE)
def test_clients_one_after_another(lab_dir, run_dir, rng):
    """serves clients one after another

    five clients in turn, two lines each: the loop goes back to `Accept`
    """
    server = start(lab_dir, run_dir)
    for number in range(1, 6):
        client = connect(server)
        for line in range(1, 3):
            check_reply(server, client, text(rng, rng.randint(10, 70)),
                        what=_("client {number} of 5, line {line}: the reply").format(
                            number=number, line=line))
        leave(server, client)


@graded(points=2, hint=HINT_NO_NEWLINE, requires=EXCHANGE)
def test_no_newline_needed(lab_dir, run_dir, rng):
    """replies without waiting for a newline

    bytes without a newline are answered at once: no `Readline` or `fgets` in the echo
    """
    server = start(lab_dir, run_dir)
    with connect(server) as client:
        for size in (1, 7, 40):
            check_reply(server, client, text(rng, size, newline=False),
                        what=_("the reply to {size} byte(s) without a newline").format(
                            size=size))


@graded(points=1, hint=HINT_MANY_LINES, requires=EXCHANGE)
def test_many_lines_at_once(lab_dir, run_dir, rng):
    """replies to many lines sent at once

    50 lines in one write: one `Read` may hold them all
    """
    server = start(lab_dir, run_dir)
    lines = b"".join(text(rng, rng.randint(5, 60)) for _ in range(50))
    with connect(server) as client:
        check_reply(server, client, lines, chunk=len(lines),
                    what=_("the reply to 50 lines ({size} bytes) sent in one write").format(
                        size=len(lines)))


@graded(points=2, hint=HINT_LONG_LINE, requires=EXCHANGE)
def test_long_line(lab_dir, run_dir, rng):
    """replies to a 100 kB line (the course note's buffer holds 80 bytes)

    a line of 100 000 bytes, longer than any buffer: every piece answered, nothing cut
    """
    server = start(lab_dir, run_dir)
    line = text(rng, 100_000, newline=False) + b"\n"
    with connect(server) as client:
        check_reply(server, client, line, what=_N("the reply to a line of 100 000 bytes"))


@graded(points=2, hint=HINT_MEGABYTES, requires=EXCHANGE, timeout=CEILING_SECONDS + 30)
def test_megabytes(lab_dir, run_dir, rng):
    """replies to megabytes of data sent while it replies

    4 MiB of random bytes sent while the replies come back, byte-exact: `Writen`, counts
    """
    server = start(lab_dir, run_dir)
    data = binary(rng, 4 << 20)
    with connect(server) as client:
        check_reply(server, client, data, what=_N("the reply to 4 MiB of data"))


@graded(points=2, hint=HINT_BYTES, requires=EXCHANGE)
def test_every_byte_value(lab_dir, run_dir, rng):
    """NUL and bytes >= 0x80 come back unchanged, a-z in uppercase

    every byte value: `unsigned char` for `toupper`, no `strlen`
    """
    server = start(lab_dir, run_dir)
    with connect(server) as client:
        check_reply(server, client, bytes(range(256)) + b"\n",
                    what=_N("the reply to the byte values 0 to 255, in order"))
        for _ in range(3):
            data = binary(rng, rng.randint(300, 3000))
            check_reply(server, client, data, chunk=rng.randint(50, 500),
                        what=_N("the reply to random bytes"))


@graded(points=1, hint=HINT_FRAGMENTS, requires=EXCHANGE)
def test_small_fragments(lab_dir, run_dir, rng):
    """replies to input sent in small fragments

    240 bytes sent 3 bytes at a time
    """
    server = start(lab_dir, run_dir)
    data = text(rng, 240)
    with connect(server) as client:
        check_reply(server, client, data, chunk=3, pause=0.002,
                    what=_N("the reply to 240 bytes sent 3 bytes at a time"))

