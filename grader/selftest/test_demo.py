"""`make demo`: it shows the forking server at work, and leaves nothing running
whether it ends on its own or is stopped halfway."""

import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import KIT_ROOT

# make demo runs it so, from the kit's folder.
DEMO = [sys.executable, "-m", "tools.demo"]
LAB04 = KIT_ROOT / "lab04_sigchld"


@pytest.fixture(scope="module")
def server_path():
    """lab04's reference server, built where `make demo` builds it."""
    subprocess.run(["make", "-s", "-C", str(LAB04), "server"], check=True,
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    return LAB04 / "server"


def started_pids(output: str) -> list:
    """The server's pid (from the demo's first line) and its children's."""
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", output)]
    pids += [int(pid) for pid in re.findall(r"forks child (\d+)", output)]
    return pids


def still_running(pids, server: Path) -> list:
    """Those of pids that are still a running copy of the server."""
    alive = []
    for pid in pids:
        try:
            cmdline = psutil.Process(pid).cmdline()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if cmdline and Path(cmdline[0]) == server:
            alive.append(pid)
    return alive


def kill_leftovers(pids, server: Path) -> None:
    for pid in still_running(pids, server):
        psutil.Process(pid).kill()


def read_until(proc, pattern: str, seconds: float) -> str:
    """The demo's output up to the first line that matches pattern (or the deadline)."""
    output = ""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds
    while not re.search(pattern, output) and time.monotonic() < deadline:
        if selector.select(timeout=deadline - time.monotonic()):
            line = proc.stdout.readline()
            if not line:
                break
            output += line
    selector.close()
    return output


def test_demo_shows_replies_children_and_a_zombie_then_cleans_up(server_path):
    proc = subprocess.Popen(DEMO, cwd=KIT_ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = "", ""
    try:
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        assert proc.returncode == 0, err
        assert 'client 1 receives "HELLO FROM CLIENT 1\\n"' in out
        assert 'client 2 receives "NO NEWLINE NEEDED"' in out
        assert 'client 3 receives "CAFé, GRüßE: BYTES >= 0X80\\n"' in out
        assert "a zombie until reaped" in out
        assert "3 children forked, 3 reaped, 0 zombie(s) left." in out
        pids = started_pids(out)
        assert len(pids) == 4, out
        assert still_running(pids, server_path) == []
    finally:
        kill_leftovers(started_pids(out), server_path)


def test_demo_stopped_halfway_leaves_nothing_running(server_path):
    proc = subprocess.Popen(DEMO, cwd=KIT_ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    output = ""
    try:
        output = read_until(proc, r"forks child \d+ for client 2", seconds=30)
        assert "for client 2" in output, output
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        assert proc.returncode == 128 + signal.SIGTERM
        pids = started_pids(output)
        assert len(pids) == 3, output
        assert still_running(pids, server_path) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        kill_leftovers(started_pids(output), server_path)


def test_demo_without_a_built_server_says_so(tmp_path):
    proc = subprocess.run([*DEMO, "--server", str(tmp_path / "server")], cwd=KIT_ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "build the kit first" in proc.stderr
    assert "Traceback" not in proc.stderr
