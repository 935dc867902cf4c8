"""lab05_client: the student's client, run against servers it did not write.

Most tests run `client 127.0.0.1 PORT` against the grader's own uppercase
server (checks/upper_server.py, in a thread of the grader), which can answer in
small late pieces, only after the client's half-close, close or reset in
mid-session, or never.  The last test runs the client against this
submission's lab04 server.

Tests about the data keep the client's stdin open until every reply has
arrived, so they fail only when bytes are lost or changed; what happens at
end of input has tests of its own.  Every wait has a deadline: a client that
hangs or spins is killed and the test fails with a hint, never the grader.
"""

import os
import termios

import pytest

from grader.harness import graded, kit, net, procs
from grader.harness.expect import expect, fail, show
from grader.harness.timing import scaled, wait_for
from grader.harness.kit import _N
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

from checks.build_tests import builds_test
from checks import client_driver
from checks.client_driver import (
    BAD_ARGUMENTS, BYTES_NOT_STRINGS, HALF_CLOSE, IDLE_BUSY_SHARE, IDLE_WINDOW, PROMPT,
    READ_EVERYTHING, SERVER_CLOSED, expect_all_replies, expect_exit_0_at_end_of_input, outcome,
    read_from_terminal, run_client, short_lines, text, within)
from checks.protocol import expect_reply, uppercase

LAB = "lab05_client"

CAUSE_HINTS = {
    "crash": _N("Look at {where}. Run the client under gdb to see it happen: start a server "
                "(`../lab04_sigchld/server-ref 6666` in the handout), then `gdb --args ./client "
                "localhost 6666`, `run`, type a line, and `bt` after the crash; `make SANITIZE=1 "
                "test` names a bad memory access where it happens."),
}
# The other lab this module builds and runs: the last test drives this
# submission's lab04 server (so a PrairieLearn question asks for its file too).
SERVER_LAB = "lab04_sigchld"
GRADED_WITH = (SERVER_LAB,)


# The fixtures that start the client under test and the grader's server.
client = client_driver.client
upper_server = client_driver.upper_server

test_builds = builds_test()


# ------------------------------------------------------------ command line


@graded(points=1, hint="`client [HOST [PORT]]`: more than two arguments, or a PORT that is "
                       "not 1-65535 in decimal digits only, prints a usage line on stderr "
                       "(\"usage: client [HOST [PORT]]\") and exits with status 2. Check every "
                       "character of PORT and its range yourself: atoi(\"80x\") is 80.")
def test_bad_arguments(lab_dir, run_dir):
    """bad arguments: usage on stderr and exit status 2

    ten bad command lines: usage on stderr, status 2
    """
    for args in BAD_ARGUMENTS:
        shown = " ".join(repr(a) if not a or " " in a else a for a in args)
        r = run_client(lab_dir, run_dir, args)
        said = r.stderr.decode(errors="replace").strip()
        if r.timed_out:
            fail(_("`client {arguments}` did not exit within {seconds} s").format(
                arguments=shown, seconds=f"{scaled(PROMPT):.0f}"))
        expect(r.returncode == 2 and "usage" in said.lower(),
               _("`client {arguments}` {outcome}\n(expected: a usage message on stderr and "
                 "status 2)").format(arguments=shown, outcome=outcome(r)))


@graded(points=2, hint="Connect (lab01) already dies with \"connect to ADDR:PORT: reason\" and "
                       "status 1: connect with it, and make sure nothing runs before it that "
                       "could wait for input or print something else.")
def test_refused_connection(lab_dir, run_dir):
    """no server: "connect to 127.0.0.1:PORT: Connection refused", non-zero exit

    nothing listens on the port: the message, a non-zero status, no hang
    """
    port = net.free_port()  # nothing listens there
    r = run_client(lab_dir, run_dir, ["127.0.0.1", port], b"hello\n")
    expected = f"connect to 127.0.0.1:{port}: Connection refused"
    said = r.stderr.decode(errors="replace").strip()
    expect(not r.timed_out, _("with no server on port {port} the client was still running "
                              "after {seconds} s").format(port=port,
                                                          seconds=f"{scaled(PROMPT):.0f}"))
    expect(r.returncode is not None and r.returncode > 0 and expected in said,
           _("with no server on port {port} the client {outcome}\n(expected the message "
             "\"{expected}\" and a non-zero status)").format(port=port, outcome=outcome(r),
                                                             expected=expected))


@graded(points=1, hint="Resolve HOST with getaddrinfo() (hints: AF_INET, SOCK_STREAM). When it "
                       "fails, print a message that names the host and gai_strerror()'s reason "
                       "on stderr, and exit with status 1.")
def test_unknown_host(lab_dir, run_dir):
    """a host that does not resolve: a message naming it, non-zero exit

    a host name that does not resolve: a message naming it, a non-zero status
    """
    host = "300.1.2.3"  # no such address (plain getaddrinfo asks DNS for it as a name)
    r = run_client(lab_dir, run_dir, [host, 6666], b"hello\n")
    said = r.stderr.decode(errors="replace").strip()
    expect(not r.timed_out, _("`client {host} 6666` was still running after {seconds} s"
                              ).format(host=host, seconds=f"{scaled(PROMPT):.0f}"))
    expect(r.returncode is not None and r.returncode > 0 and host in said,
           _("`client {host} 6666` {outcome}\n(expected a message naming {host} on stderr and "
             "a non-zero status)").format(host=host, outcome=outcome(r)))


@graded(points=1, hint="Without arguments the client connects to 127.0.0.1 port 6666, the "
                       "course's port; with HOST alone, to HOST port 6666.")
def test_defaults(lab_dir, run_dir):
    """defaults: host 127.0.0.1, port 6666

    `client` and `client 127.0.0.1` try 127.0.0.1:6666
    """
    if not net.connection_refused(6666):
        pytest.skip(_("not run: a program on this machine listens on port 6666 (your lab04 "
                      "server?); stop it and grade again"))
    expected = "connect to 127.0.0.1:6666: Connection refused"
    for args in ([], ["127.0.0.1"]):
        shown = " ".join(["client", *args])
        r = run_client(lab_dir, run_dir, args)
        said = r.stderr.decode(errors="replace").strip()
        if expected not in said and not net.connection_refused(6666):
            pytest.skip(_("not run: a program on this machine started listening on port 6666 "
                          "during the test; grade again"))
        expect(not r.timed_out and expected in said,
               _("`{command}` with nothing listening on port 6666 {outcome}\n(expected "
                 "\"{expected}\": did it try 127.0.0.1:6666?)").format(
                     command=shown, outcome=outcome(r), expected=expected))


@graded(points=1, hint="HOST may be a name: resolve it with getaddrinfo() (AF_INET, "
                       "SOCK_STREAM) rather than inet_pton(), which takes dotted addresses only.")
def test_host_name(client, upper_server, rng):
    """a host name: `client localhost PORT`

    `client localhost PORT` works like the dotted address
    """
    server = upper_server()
    data = short_lines(rng, 5)
    c = client(args=["localhost", server.port])
    c.feed(data)
    expect_all_replies(c, data, PROMPT)


# -------------------------------------------------------------------- data


@graded(points=2, hint=READ_EVERYTHING)
def test_short_lines(client, upper_server, rng):
    """short lines piped in at once come back uppercase

    random short lines piped in at once: stdout is exactly their uppercase
    """
    server = upper_server()
    data = short_lines(rng, rng.randint(30, 60))
    c = client(server.port)
    c.feed(data)
    expect_all_replies(c, data)


@graded(points=1, hint=_N("The course note's client reads into an 80-byte buffer. A longer "
                          "line must still go out and come back whole: loop over reads, and "
                          "never drop what did not fit. The server may split a reply anywhere "
                          "and send it late: never assume one read() returns one whole reply. "
                          "Watch stdin and the socket together (poll) and copy whatever arrives "
                          "on the socket to stdout with Writen."))
def test_long_lines(client, upper_server, rng):
    """lines longer than the course note's 80-byte buffer

    lines of up to 20 000 bytes: every byte comes back
    """
    server = upper_server()
    data = b"".join(text(rng, rng.randint(81, 20000)) + b"\n" for _ in range(12))
    c = client(server.port)
    c.feed(data)
    expect_all_replies(c, data)


@graded(points=1, hint="Send bytes as they arrive on stdin; don't wait for a newline (fgets, "
                       "Readline) -- input may end without one, or pause in mid-line.")
def test_no_final_newline(client, upper_server, rng):
    """input without a final newline

    input that does not end with a newline comes back whole
    """
    server = upper_server()
    data = short_lines(rng, 6) + text(rng, rng.randint(5, 60))
    c = client(server.port)
    c.feed(data)
    expect_all_replies(c, data)


@graded(points=2, hint=BYTES_NOT_STRINGS)
def test_binary_data(client, upper_server, rng):
    """binary data: NUL and bytes above 0x7f come back as sent

    every byte value: the client copies counts, not C strings
    """
    server = upper_server()
    data = b"\0\xff" + bytes(range(256)) + rng.randbytes(64 * 1024) + b"\0tail"
    c = client(server.port)
    c.feed(data)
    expect_all_replies(c, data)


@graded(points=3, hint=_N("Megabytes take many reads and writes on both sides, and the replies "
                          "come back while you are still sending: watch stdin and the socket "
                          "together, write everything with Writen, and at end of input "
                          "half-close and read until the server closes. Data is bytes, not a C "
                          "string: use the count read() returned, never strlen() or "
                          "fgets()/fputs(), which stop at '\\0'."))
def test_megabytes(client, upper_server, rng):
    """megabytes: every byte comes back, then exit 0 at end of input

    4 MiB and 1,000 bytes come back exactly, then status 0 once stdin ends
    """
    server = upper_server()
    # Not a whole number of 4 KiB stdio buffers: a client that never flushes
    # keeps its last bytes back every time, not only when reads split unluckily.
    size = (4 << 20) + 1000
    data = bytearray(text(rng, size, 90))
    for _ in range(64):  # a few NUL and high bytes among the text
        data[rng.randrange(size)] = rng.choice((0, 0x80, 0xe9, 0xff))
    data = bytes(data)
    c = client(server.port)
    c.feed(data)
    expect_all_replies(c, data, timeout=20)
    expect_exit_0_at_end_of_input(c)


# -------------------------------------------------------- end of the session


@graded(points=3, hint=HALF_CLOSE)
def test_owed_replies(client, upper_server, rng):
    """end of input: half-close, then print every reply still owed, exit 0

    the server answers only after the client's half-close: every reply is printed, status 0
    """
    server = upper_server(hold_until_eof=True)
    data = short_lines(rng, rng.randint(100, 300))
    c = client(server.port)
    c.feed(data, close=True)
    code = c.wait_exit(PROMPT)
    got = c.output()
    if code is None:
        if server.half_closes == 0:
            fail(_("this server answers only once the client has half-closed. The client's "
                   "input ended, and {seconds} s later the server had not seen end of file and "
                   "the client was still running (it printed {got} bytes)").format(
                       seconds=f"{scaled(PROMPT):.0f}", got=len(got)))
        fail(_("the client half-closed, but {seconds} s later it was still running, having "
               "printed {got} of {owed} bytes: keep reading until read() returns 0, then exit"
               ).format(seconds=f"{scaled(PROMPT):.0f}", got=len(got), owed=len(data)))
    if got != uppercase(data) and len(got) < len(data):
        fail(_("this server answers only once the client has half-closed. The client printed "
               "{got} of the {owed} bytes it was owed, then {ended}: it stopped reading before "
               "the server had answered").format(got=len(got), owed=len(data), ended=c.ended()))
    expect_reply(data, got, what=_N("what the client printed"))
    expect(code == 0, _("every reply arrived, but {state} (expected status 0)").format(
        state=c.state()))


@graded(points=2, hint=READ_EVERYTHING)
def test_fragmented_replies(client, upper_server, rng):
    """replies that come in small pieces, a few milliseconds apart

    replies arrive 1-7 bytes at a time, milliseconds apart
    """
    server = upper_server(fragments=True)
    data = short_lines(rng, 20, 50)
    c = client(server.port)
    c.feed(data)
    expect_all_replies(c, data)


@graded(points=2, hint="When read() on the socket returns 0 while stdin is still open, the "
                       "server has gone: print \"the other side has been closed.\" and exit "
                       "with a non-zero status. Don't treat 0 as \"nothing yet\" and read again: "
                       "that loops forever. Watch the socket even while no input comes (poll), "
                       "or the client notices only when the user types the next line.")
def test_server_closes(client, upper_server, rng):
    """the server closes in mid-session: message and non-zero exit

    with stdin still open: the message, a non-zero status, within 5 s
    """
    data = short_lines(rng, rng.randint(3, 8))
    server = upper_server(close_after=len(data))
    c = client(server.port)
    c.feed(data)  # and stdin stays open, as a user who has not finished
    code = c.wait_exit(PROMPT)
    out, err = c.output(), c.stderr()
    if code is None:
        cpu = c.cpu_seconds()
        fail(_("the server answered {count} bytes and closed the connection while the "
               "client's stdin was still open; {seconds} s later the client was still running "
               "(having used {cpu} s of CPU) and had printed {printed} bytes").format(
                   count=len(data), seconds=f"{scaled(PROMPT):.0f}", cpu=f"{cpu:.1f}",
                   printed=len(out)))
    expect(out.startswith(uppercase(data)),
           _("the server answered {count} bytes, then closed; the client printed only {printed} "
             "bytes of the reply before it {ended}: {output}").format(
                 count=len(data), printed=len(out), ended=c.ended(), output=show(out)))
    said = err + out[len(data):]
    expect(SERVER_CLOSED in said and code > 0,
           _("when the server closed, {state}\n(expected \"{message}\" on stderr or stdout, "
             "and a non-zero status)").format(state=c.state(),
                                              message=SERVER_CLOSED.decode()))


@graded(points=2, hint="While waiting for the server, the client must sleep in poll() or "
                       "read(), not spin: once stdin has reached end of file, stop polling it "
                       "(poll reports it readable forever), and never poll with a zero "
                       "timeout. When the server resets the connection, read() fails with "
                       "ECONNRESET: print a message and exit with a non-zero status.")
def test_server_stops_answering(client, upper_server, rng):
    """the server stops answering: no busy-wait, then a message when it resets

    the client waits without using the CPU, then reports the server's reset and exits non-zero
    """
    server = upper_server(silent=True)
    data = short_lines(rng, 4)
    c = client(server.port)
    c.feed(data, close=True)
    # Watch from the moment input reaches the server (a client that waits for
    # each reply before it sends more may not send it all: that is allowed).
    arrived = wait_for(lambda: server.received > 0 or c.popen.poll() is not None, PROMPT)
    expect(arrived and server.received > 0,
           _("the server received none of the {count} bytes of input; {state}").format(
               count=len(data), state=c.state()))
    cpu_before = c.cpu_seconds()
    busy, watched, exited = c.watch_idle(IDLE_WINDOW)
    if exited:
        fail(_("{observed} {advice}").format(
            observed=_("the server read the input and stayed silent, and the client {ended} "
                       "before any reply came: it stopped waiting for the {owed} bytes it was "
                       "owed.").format(ended=procs.describe_returncode(c.popen.poll()),
                                       owed=server.received),
            advice=_(HALF_CLOSE)))
    used = c.cpu_seconds() - cpu_before
    expect(busy <= IDLE_BUSY_SHARE,
           _("while the server stayed silent for {seconds} s the client was running or ready "
             "to run {share} of the time (it used {cpu} s of CPU): it busy-waits instead of "
             "sleeping in poll()").format(seconds=f"{watched:.1f}", share=f"{busy:.0%}",
                                          cpu=f"{used:.2f}"))
    server.reset_all()
    code = c.wait_exit(PROMPT)
    expect(code is not None, _("the server reset the connection; {seconds} s later the client "
                               "was still running (it should report the error and exit)").format(
                                   seconds=f"{scaled(PROMPT):.0f}"))
    expect(code > 0 and c.stderr().strip(),
           _("the server reset the connection and {state} (expected a message on stderr and a "
             "non-zero status)").format(state=c.state()))


@graded(points=1, hint="A write to a connection the server has reset fails with ECONNRESET or "
                       "EPIPE -- and raises SIGPIPE, which kills the process silently unless you "
                       "ignore it (signal(SIGPIPE, SIG_IGN), or send with MSG_NOSIGNAL). Report "
                       "the error and exit with a non-zero status.")
def test_reset_while_sending(client, upper_server, rng):
    """the server resets while the client is still sending: message, non-zero exit

    the server resets during a 4 MiB upload: a message, a non-zero status, not killed by `SIGPIPE`
    """
    server = upper_server(reset_after=64 * 1024)
    data = text(rng, 4 << 20, 70)
    c = client(server.port)
    c.feed(data)
    code = c.wait_exit(PROMPT)
    expect(server.resets > 0 or code is None,
           _("{state} before the server had reset the connection (the server had received "
             "{received} of the 4 MiB)").format(state=c.state(), received=server.received))
    expect(code is not None, _("the server reset the connection after 64 KiB of the client's "
                               "4 MiB; {seconds} s later the client was still running").format(
                                   seconds=f"{scaled(PROMPT):.0f}"))
    expect(code > 0 and c.stderr().strip(),
           _("the server reset the connection after 64 KiB of the client's 4 MiB, and {state} "
             "(expected a message on stderr and a non-zero status)").format(state=c.state()))


# ---------------------------------------------------------------- interactive


@graded(points=2, hint="Typed at a terminal, each line must go to the server as soon as Enter "
                       "is pressed and its reply be printed before the next line comes: read "
                       "stdin with read() when poll() says it is ready, never wait for a full "
                       "buffer or for end of input. Ctrl-D ends the input: half-close, print "
                       "the last replies, exit 0.")
def test_interactive_terminal(client, upper_server, rng):
    """at a terminal: each line's reply before the next line, exit 0 at Ctrl-D

    on a pseudo-terminal, each line's reply appears before the next line is typed
    """
    server = upper_server()
    master, slave = os.openpty()
    try:
        attrs = termios.tcgetattr(slave)
        attrs[1] &= ~termios.OPOST  # print "\n" as is, not "\r\n"
        attrs[3] &= ~(termios.ECHO | termios.ECHONL)  # the test sees replies only
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        eof_key = attrs[6][termios.VEOF]
        c = client(server.port, stdin=slave, stdout=slave)
    finally:
        os.close(slave)
    try:
        lines = [text(rng, rng.randint(1, 100)) + b"\n" for _ in range(8)]
        for number, line in enumerate(lines, start=1):
            os.write(master, line)
            got = read_from_terminal(master, len(line), PROMPT)
            if got != uppercase(line):
                c.wait_exit(0.1)
                fail(_("line {number} typed at the terminal was {line}; {when} the client "
                       "printed {got} instead of {expected}; {state}").format(
                           number=number, line=show(line), when=within(c, PROMPT),
                           got=show(got), expected=show(uppercase(line)), state=c.state()))
        os.write(master, eof_key)
        code = c.wait_exit(PROMPT)
        rest = read_from_terminal(master, 1, 0.1) if code is None else b""
        expect(code == 0, _("after the replies to {count} lines, Ctrl-D (end of input) was "
                            "typed; {seconds} s later {state}").format(
                                count=len(lines), seconds=f"{scaled(PROMPT):.0f}",
                                state=c.state())
                          + (_(" (it printed {output})").format(output=show(rest)) if rest else "")
                          + _(" (expected status 0)"))
    finally:
        os.close(master)


@graded(points=1, hint=_N("Write each reply to stdout as soon as it arrives (Writen on "
                          "STDOUT_FILENO); a reply kept in a stdio buffer reaches the user only "
                          "at exit. Also read stdin with read() when poll() says it is ready: a "
                          "program that drives the client through pipes sends one line and "
                          "waits for its reply."))
def test_interactive_pipes(client, upper_server, rng):
    """driven through pipes: each line's reply before the next line

    driven line by line through pipes: no reply waits in a stdio buffer
    """
    server = upper_server()
    c = client(server.port)
    sent = b""
    for number in range(1, 9):
        line = text(rng, rng.randint(1, 200)) + b"\n"
        c.feed(line)
        sent += line
        got = c.wait_output(len(sent), PROMPT, uppercase(sent))
        if got != uppercase(sent):
            c.wait_exit(0.1)
            fail(_("line {number} was written to the client's stdin (a pipe): {line}; {when} "
                   "its stdout (a pipe) had {got} bytes instead of {expected}, ending {end}; "
                   "{state}").format(number=number, line=show(line), when=within(c, PROMPT),
                                     got=len(got), expected=len(sent), end=show(got[-40:]),
                                     state=c.state()))


# ---------------------------------------------------------------- integration


@graded(points=2, hint="Your client works with the grader's server but not with your lab04 "
                       "server: grade lab04 (`make grade` in lab04_sigchld) and compare what "
                       "each side does at end of input. Its log is in the test's log.",
        timeout=300)
def test_with_lab04_server(grading, client, run_dir, rng):
    """with this submission's lab04 server

    a few hundred lines and 64 KiB through this submission's lab04 server; not run without it
    """
    if SERVER_LAB not in kit.present_labs(grading.scratch):
        pytest.skip(_("not run: {lab} is not part of this copy of the kit").format(lab=SERVER_LAB))
    build = grading.build(SERVER_LAB)
    if not build.ok:
        pytest.skip(_("not run: this submission's lab04 server did not build ({why})").format(
            why=build.problem))
    lab04 = grading.lab_dir(SERVER_LAB)
    try:
        server = net.start_server(lab04 / "server", cwd=lab04, log_dir=run_dir,
                                  name="lab04-server")
    except net.ServerDidNotStart as exc:
        fail(_("this submission's lab04 server did not start: {why}").format(why=exc))
    data = short_lines(rng, 200) + text(rng, 64 * 1024, 120) + b"\n"
    c = client(server.port)
    c.feed(data)
    expect_all_replies(c, data, timeout=15)
    expect_exit_0_at_end_of_input(c)
