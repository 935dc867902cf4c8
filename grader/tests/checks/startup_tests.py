"""The server labs' graded tests of starting up: it listens on its port,
refuses bad arguments, reports a port in use, and restarts at once.

Shared by labs 02-06: a lab module binds the tests it grades
(`test_server_starts = startup.test_server_starts`); pytest runs each as an
item of that module, so `request.module.LAB` and the score table name its lab.
"""

import errno
import shlex
import socket


from grader.harness import diagnose, graded, net, procs, replace_hint, sockdiag
from grader.harness.expect import expect
from grader.harness.timing import scaled, wait_for
from grader.harness.kit import _N
from grader.i18n import _  # noqa: F401 -- its titles and hints are translated

from .echo_server import (
    EXCHANGE, check_reply, connect, last_output, server_binary, start, start_on_port, state
)
from .protocol import text

HINT_STARTS = _N("Run `./server 6666` in the lab folder: it must print 'Accepting connections ...' "
                 "and keep running (`ss -ltnp` shows it listening). Check main, port_from_args and "
                 "open_listener (Socket, setsockopt SO_REUSEADDR, Bind, Listen).")
HINT_USAGE = _N("port_from_args: with one argument that is not a number from 1 to 65535, or with "
                "more than one argument, print a usage message on stderr ('usage: server [PORT]') "
                "and exit(2). Check the whole argument (std::from_chars, or strtol and its end "
                "pointer): atoi() turns 'abc' into 0 and '80x' into 80.")
HINT_IN_USE = _N("When bind() fails the server must exit with status 1 and say why: Bind's "
                 "perr_exit prints 'bind to 0.0.0.0:PORT: Address already in use'. Don't ignore "
                 "or retry the failure.")
HINT_REUSEADDR = _N("open_listener: setsockopt(listenfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) "
                    "before Bind. Without it the port stays taken for up to a minute while the old "
                    "server's connections linger in TIME_WAIT (see `ss -tan`).")


@graded(points=1, hint=HINT_STARTS)
def test_server_starts(lab_dir, run_dir):
    """server starts

    `server PORT` listens on PORT and keeps running
    """
    server = start(lab_dir, run_dir)
    expect(server.running(), _("the server listened on port {port}, then {state}").format(
        port=server.port, state=state(server)))


@graded(points=1, hint=HINT_USAGE)
def test_bad_arguments(lab_dir, run_dir):
    """bad arguments: a usage message and exit status 2

    `abc`, `0`, `65536`, `-1`, `80x`, `""`, two arguments: usage on stderr, status 2
    """
    expect_usage_errors(lab_dir, run_dir,
                        (["abc"], ["0"], ["65536"], ["-1"], ["80x"], [""], ["6666", "6667"]))


def expect_usage_errors(lab_dir, run_dir, argument_lists):
    """Each `server ARGS` of argument_lists exits at once with status 2 and a
    usage message (labs with more options than PORT pass their own lists)."""
    for args in argument_lists:
        shown = " ".join(["server"] + [shlex.quote(a) for a in args])
        run = procs.run("server", [server_binary(lab_dir), *args], log_dir=run_dir, timeout=3)
        said = (run.stdout + run.stderr).decode(errors="replace").strip()
        expect(not run.timed_out, _("`{command}` was still running {seconds} s later").format(
            command=shown, seconds=f"{scaled(3):.0f}"))
        expect(run.returncode == 2,
               _("`{command}` exited with status {status}, not 2; it printed: {output}").format(
                   command=shown, status=run.returncode, output=repr(said[:300])))
        expect("usage" in said.lower(),
               _("`{command}` exited with status 2 but printed no usage message: {output}"
                 ).format(command=shown, output=repr(said[:300])))


@graded(points=1, hint=HINT_IN_USE)
def test_port_in_use(lab_dir, run_dir):
    """port in use: a clear message and exit status 1

    another program listens on the port: a message naming the cause, status 1
    """
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        run = procs.run("server", [server_binary(lab_dir), str(port)], log_dir=run_dir,
                       timeout=5)
    said = (run.stdout + run.stderr).decode(errors="replace").strip()
    expect(not run.timed_out,
           _("`server {port}` was still running {seconds} s later, although another program "
             "listens on port {port}; it printed: {output}").format(
                 port=port, seconds=f"{scaled(5):.0f}", output=repr(said[:300])))
    expect(run.returncode == 1,
           _("`server {port}`, with port {port} taken, exited with status {status}, not 1; it "
             "printed: {output}").format(port=port, status=run.returncode,
                                         output=repr(said[:300])))
    expect("in use" in said,
           _("`server {port}`, with port {port} taken, exited with status 1 but its message "
             "does not say the address is in use: {output}").format(port=port,
                                                                   output=repr(said[:300])))


def lingering_on(port: int) -> bool:
    """True if a connection that was closed on our side still holds `port`
    (FIN_WAIT1, FIN_WAIT2 or TIME_WAIT: include/net/tcp_states.h)."""
    return any(s.local_port == port for s in sockdiag.tcp_sockets(
        sockdiag.FIN_WAIT1, sockdiag.FIN_WAIT2, sockdiag.TIME_WAIT))


@graded(points=1, hint=HINT_REUSEADDR, requires=EXCHANGE)
def test_restarts_on_the_same_port(lab_dir, run_dir, rng):
    """restarts at once on the same port (SO_REUSEADDR)

    stopped with a client connected, restarted at once on the same port: needs `SO_REUSEADDR`
    """
    first = start(lab_dir, run_dir, name="server")
    port = first.port
    client = connect(first)
    check_reply(first, client, text(rng, 40))
    # Stopped with a client connected, the server's end closes first, so its
    # side of the connection lingers in TIME_WAIT, holding the port.
    first.stop()
    client.read_until_eof()
    client.close()
    expect(wait_for(lambda: lingering_on(port), 5),
           _("grader: no connection of the stopped server lingered on port {port}").format(
               port=port))
    second = start_on_port(lab_dir, run_dir, port, name="server-restarted")
    in_use = any(err == errno.EADDRINUSE for _port, err in diagnose.bound_ports(second))
    if not net.is_listening(second.pid, port) and not in_use and "in use" not in second.output():
        # Its bind() did not fail with EADDRINUSE: SO_REUSEADDR is not the point.
        replace_hint(_N("The restarted server did not fail to bind its port: see what it "
                        "printed and how it ended, and run it twice in a row yourself "
                        "(`./server 7777`, Ctrl-C, `./server 7777`)."))
    expect(net.is_listening(second.pid, port),
           _("a server started on port {port} right after the first one was stopped (with a "
             "connection of the first one in TIME_WAIT) {ended} instead of listening").format(
                 port=port, ended=second.describe_exit()) + last_output(second))
    with connect(second) as again:
        check_reply(second, again, text(rng, 40))

