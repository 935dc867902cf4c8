"""The process layer that the grader, bench/ and tools/demo.py share
(harness/procs.py, harness/net.py): a program of the kit's own starts in its
own session without the sandbox and with deadlines as given, a process group
ends whole, and a server is started on a free port and waited for."""

import os
import signal
import subprocess
import sys

import psutil
import pytest

from grader.harness import net, procs, timing

# A server of the kit's own, for the tests: listens on argv[1] until killed.
LISTENER = ("import socket, sys, time\n"
            "s = socket.create_server(('127.0.0.1', int(sys.argv[1])))\n"
            "time.sleep(60)\n")


@pytest.fixture
def started():
    """The programs a test starts, ended (their whole group) when it ends."""
    programs = []
    yield programs
    for program in programs + procs.started_in_this_test:
        procs.end_group(program.popen)
    procs.started_in_this_test.clear()


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_kit_program_runs_in_its_own_session_uncontained_with_deadlines_as_given(
        tmp_path, monkeypatch, started):
    monkeypatch.setattr(timing, "TIMEOUT_SCALE", 3.0)
    program = procs.start("kit", [sys.executable, "-c", "import time; time.sleep(60)"],
                          log_dir=tmp_path / "logs", cwd=tmp_path, contained=False)
    started.append(program)
    assert os.getsid(program.pid) == program.pid
    assert os.getpgid(program.pid) == program.pid
    assert psutil.Process(program.pid).cwd() == str(tmp_path)
    assert psutil.Process(program.pid).uids().real == os.getuid()
    assert "FORKLAB_CRASH_DIR" not in psutil.Process(program.pid).environ()
    assert program.seconds(2) == 2
    assert procs.Program("x", [], program.popen, program.log_path).seconds(2) == 6


def test_limits_are_refused_for_an_uncontained_program(tmp_path):
    with pytest.raises(ValueError):
        procs.start("kit", ["true"], log_dir=tmp_path, contained=False, limits={1: 1})


def test_end_group_ends_a_leader_that_ignores_sigterm_and_its_children(tmp_path, started):
    script = "trap '' TERM; sleep 60 & echo $!; wait"
    program = procs.start("group", ["sh", "-c", script], log_dir=tmp_path, contained=False)
    started.append(program)
    assert timing.wait_until(lambda: program.output().strip(), 10)
    child = int(program.output())
    assert procs.end_group(program.popen, grace=0.2, timeout=5)
    assert program.returncode == -signal.SIGKILL
    assert timing.wait_until(lambda: gone(child), 5)


def test_end_group_ends_the_group_after_its_leader_has_exited(tmp_path, started):
    program = procs.start("orphans", ["sh", "-c", "sleep 60 & echo $!"], log_dir=tmp_path,
                          contained=False)
    started.append(program)
    assert program.wait_exit(10) == 0
    child = int(program.output())
    assert not gone(child)
    assert procs.end_group(program.popen)
    assert timing.wait_until(lambda: gone(child), 5)


def test_wait_until_returns_the_last_value_at_its_deadline():
    calls = []
    assert timing.wait_until(lambda: calls.append(1) or len(calls) >= 3, 5, interval=0) is True
    assert timing.wait_until(lambda: 0, 0.05) == 0


def test_start_on_free_port_waits_until_the_server_listens(tmp_path, started):
    program = net.start_on_free_port("listener", lambda port: [sys.executable, "-c", LISTENER,
                                                                str(port)],
                                     log_dir=tmp_path, contained=False)
    started.append(program)
    assert program.running()
    assert net.is_listening(program.pid, program.port)


def test_start_on_free_port_tries_another_port_when_the_port_was_taken(tmp_path, started):
    ports = []

    def argv(port):
        ports.append(port)
        if len(ports) == 1:
            return ["sh", "-c", "echo 'bind: Address already in use'; exit 1"]
        return [sys.executable, "-c", LISTENER, str(port)]

    program = net.start_on_free_port("retried", argv, log_dir=tmp_path, contained=False)
    started.append(program)
    assert len(ports) == 2
    assert program.port == ports[1]
    assert net.is_listening(program.pid, program.port)


def test_start_on_free_port_returns_a_server_that_exits_for_the_caller_to_report(tmp_path):
    program = net.start_on_free_port("fails", lambda port: ["sh", "-c", "echo no; exit 3"],
                                     log_dir=tmp_path, contained=False)
    assert program.returncode == 3
    assert program.output() == "no\n"
    procs.started_in_this_test.clear()


def test_is_listening_sees_a_listening_descendant_when_asked(tmp_path, started):
    port = net.free_port()
    program = procs.start("wrapper", ["sh", "-c", f'"{sys.executable}" -c "$0" {port}; true',
                                      LISTENER], log_dir=tmp_path, contained=False)
    started.append(program)
    assert timing.wait_until(lambda: net.is_listening(program.pid, port, descendants=True), 10)
    assert not net.is_listening(program.pid, port)


def test_popen_in_session_refuses_a_program_that_cannot_run(tmp_path):
    not_a_program = tmp_path / "data"
    not_a_program.write_text("hello\n")
    not_a_program.chmod(0o755)
    with pytest.raises(OSError):
        procs.popen_in_session([not_a_program], stdout=subprocess.DEVNULL)
