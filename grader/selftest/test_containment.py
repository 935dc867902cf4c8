"""Hostile submissions: the sandbox stops them, reports them, and they leave
nothing behind.  Each submits a lab01 wrap.cpp (or a lab02 server.cpp) with
bad habits or attacks built in, and is graded under bubblewrap and in the
fallback without it (FORKLAB_SANDBOX=bwrap, =uid)."""

import csv
import json
import os
import shutil
import signal
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import psutil
import pytest

import catalogue
from conftest import KIT_ROOT, failed_tests, load_results, replace_once, run_grade
from grader.harness import kit, sandbox

SOCKET_LINE = "    const int fd = socket(family, type, protocol);\n"
CLOSE_LINE = "    if (close(fd) < 0)\n        perr_exit(\"close\");\n"


# The sandbox uid of these tests, so that leftovers() sees only their
# processes: above the range graders pick from, so that no grader of another
# selftest running at the same time takes it while it is idle.
SANDBOX_UID = (sandbox.pick_free_uid(first=sandbox.FIRST_SANDBOX_UID + sandbox.SANDBOX_UIDS,
                                     count=100) if os.geteuid() == 0 else None)


# Why bwrap cannot run here ('' when it can): the bwrap cases are skipped then.
BWRAP_MISSING = sandbox.probe()
MODES = [pytest.param("bwrap", marks=pytest.mark.skipif(bool(BWRAP_MISSING),
                                                        reason=BWRAP_MISSING or "-")),
         "uid"]


@pytest.fixture(scope="module")
def kit_objects():
    """lab01's kit objects, built once for this module's gradings (as a batch
    does), in a folder the sandbox user can reach."""
    folder = Path(tempfile.mkdtemp(prefix="forklab-selftest-kit-"))
    os.chmod(folder, 0o755)
    kit.build_kit_objects(folder, ["lab01_wrap"])
    yield folder
    shutil.rmtree(folder)


def contained(env=None, kit_objects=None):
    env = dict(env or {})
    if SANDBOX_UID is not None:
        env["FORKLAB_SANDBOX_UID"] = str(SANDBOX_UID)
    if kit_objects is not None:
        env[kit.KIT_OBJECTS_SETTING] = str(kit_objects)
    return env


def grade_hostile(submission, tmp_path, env=None, kit_objects=None):
    out = tmp_path / "r.json"
    proc = run_grade("--lab", "lab01_wrap", "--submission", submission, "--json", out,
                     "--logs", tmp_path / "logs", env=contained(env, kit_objects), timeout=300)
    assert proc.returncode == 1, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc, load_results(out)


def leftovers():
    """Processes of the sandbox uid, or our own descendants: none may remain."""
    me = psutil.Process()
    found = [p.pid for p in me.children(recursive=True)]
    if SANDBOX_UID is not None:
        for p in psutil.process_iter(["uids"]):
            if p.info["uids"] and p.info["uids"].real == SANDBOX_UID:
                found.append(p.pid)
    return found


def output_of(results: dict, name: str) -> str:
    """What results.json says of one test."""
    return next(t["output"] for t in results["tests"] if t["name"] == name)


@pytest.mark.parametrize("mode", MODES)
def test_fork_bomb_is_stopped_and_reported(submission, tmp_path, kit_objects, mode):
    replace_once(submission / "lab01_wrap/wrap.cpp", SOCKET_LINE,
                 "    for (;;)\n        fork();\n" + SOCKET_LINE)
    proc, results = grade_hostile(submission, tmp_path, kit_objects=kit_objects,
                                  env={"FORKLAB_MAX_PROCS": "150", "FORKLAB_SANDBOX": mode})
    assert results["extra_data"]["sandbox"]["mode"] == mode
    socket_test = "lab01_wrap: Socket: returns a TCP socket"
    assert socket_test in failed_tests(results)
    output = output_of(results, socket_test)
    assert "created more than 150 processes" in output
    # The rest of the lab was graded normally once the bomb was ended.
    assert "lab01_wrap: Readline: returns one line per call" not in failed_tests(results)
    assert leftovers() == []


def test_runaway_loop_is_stopped_by_the_cpu_limit(submission, tmp_path, kit_objects):
    replace_once(submission / "lab01_wrap/wrap.cpp", CLOSE_LINE,
                 "    for (volatile int spin = 0;; spin = spin + 1) {\n    }\n" + CLOSE_LINE)
    proc, results = grade_hostile(submission, tmp_path, kit_objects=kit_objects,
                                  env={"FORKLAB_MAX_CPU_SECONDS": "1"})
    output = output_of(results, "lab01_wrap: Close: closes the descriptor")
    assert "SIGXCPU" in output and "more than 1 s of CPU" in output
    assert leftovers() == []


def test_memory_hog_is_stopped_by_the_address_space_limit(submission, tmp_path, kit_objects):
    replace_once(submission / "lab01_wrap/wrap.cpp", SOCKET_LINE,
                 "    char *volatile hog = new char[std::size_t(8) << 30];\n"
                 "    std::memset(hog, 'x', std::size_t(8) << 30);\n"
                 "    delete[] hog;\n" + SOCKET_LINE)
    proc, results = grade_hostile(submission, tmp_path, kit_objects=kit_objects)
    output = output_of(results, "lab01_wrap: Socket: returns a TCP socket")
    assert "bad_alloc" in output or "SIGABRT" in output
    assert leftovers() == []


def test_huge_file_is_stopped_by_the_file_size_limit(submission, tmp_path, kit_objects):
    replace_once(submission / "lab01_wrap/wrap.cpp", SOCKET_LINE,
                 "    if (FILE *f = std::fopen(\"big\", \"w\")) {\n"
                 "        for (int i = 0; i < (1 << 30); ++i)\n"
                 "            std::fputc('x', f);\n"
                 "        std::fclose(f);\n"
                 "    }\n" + SOCKET_LINE)
    proc, results = grade_hostile(submission, tmp_path, kit_objects=kit_objects)
    output = output_of(results, "lab01_wrap: Socket: returns a TCP socket")
    assert "SIGXFSZ" in output
    assert leftovers() == []


@pytest.fixture
def open_folder():
    """A folder anyone may enter (pytest's tmp_path is private to root, which
    would make the attacks below fail for the wrong reason)."""
    path = Path(tempfile.mkdtemp(prefix="forklab-selftest-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


# Marks no other process or file on the machine has, to find what the attacks leave.
TAG = f"forklab-hostile-{os.getpid()}"
DAEMON_MARK = "4243.4343"
VICTIM_MARK = "4244.4444"

HOSTILE_HEADERS = """\
#include <csignal>
#include <fcntl.h>
#include <string>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
"""

# Attacks run by the doctest case "Socket: returns a TCP socket" alone; each
# prints one line "HOSTILE what: DONE" or why it failed, then the program
# exits 3 so that the case fails and its output reaches the log.
HOSTILE_CODE = r"""
namespace hostile {

bool in_case(const char *name)
{
    char text[4096] = {0};
    const int fd = open("/proc/self/cmdline", O_RDONLY);
    if (fd < 0)
        return false;
    const ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    for (ssize_t i = 0; i < n; ++i)
        if (text[i] == '\0')
            text[i] = ' ';
    return std::strstr(text, name) != nullptr;
}

void try_write(const char *what, const std::string &path)
{
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) {
        std::printf("HOSTILE write %s: %s\n", what, std::strerror(errno));
        return;
    }
    const bool done = write(fd, "HACKED\n", 7) == 7;
    close(fd);
    std::printf("HOSTILE write %s: %s\n", what, done ? "DONE" : "short");
}

void try_read(const char *what, const std::string &path)
{
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) {
        std::printf("HOSTILE read %s: %s\n", what, std::strerror(errno));
        return;
    }
    char text[64];
    const ssize_t n = read(fd, text, sizeof text);
    close(fd);
    std::printf("HOSTILE read %s: %s\n", what, n > 0 ? "DONE" : "empty");
}

pid_t parent_of(pid_t pid)
{
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    FILE *f = std::fopen(path.c_str(), "r");
    if (f == nullptr)
        return 0;
    char text[1024];
    const std::size_t n = std::fread(text, 1, sizeof text - 1, f);
    std::fclose(f);
    text[n] = '\0';
    const char *end_of_name = std::strrchr(text, ')');
    int ppid = 0;
    char state = 0;
    if (end_of_name == nullptr || std::sscanf(end_of_name + 2, "%c %d", &state, &ppid) != 2)
        return 0;
    return ppid;
}

// SIGTERM to every ancestor of another user (the grader, its parents) and to
// their process groups; our own sandbox's processes are left alone.
void try_signal_ancestors()
{
    int sent = 0;
    int tried = 0;
    for (pid_t pid = getppid(); pid > 1; pid = parent_of(pid)) {
        struct stat info;
        if (stat(("/proc/" + std::to_string(pid)).c_str(), &info) != 0 || info.st_uid == getuid())
            continue;
        ++tried;
        if (kill(pid, SIGTERM) == 0)
            ++sent;
        const pid_t group = getpgid(pid);
        if (group > 1 && kill(-group, SIGTERM) == 0)
            ++sent;
    }
    std::printf("HOSTILE signal grader: %d signals delivered to %d processes\n", sent, tried);
}

void try_ptrace(pid_t victim)
{
    if (ptrace(PTRACE_ATTACH, victim, nullptr, nullptr) != 0) {
        std::printf("HOSTILE ptrace sibling: %s\n", std::strerror(errno));
        return;
    }
    waitpid(victim, nullptr, 0);
    ptrace(PTRACE_DETACH, victim, nullptr, nullptr);
    std::printf("HOSTILE ptrace sibling: DONE\n");
}

void start_daemon()
{
    const pid_t child = fork();
    if (child == 0) {
        setsid();
        if (fork() == 0) {
            execl("/bin/sleep", "sleep", "@DAEMON_MARK@", static_cast<char *>(nullptr));
            _exit(127);
        }
        _exit(0);
    }
    waitpid(child, nullptr, 0);
    std::printf("HOSTILE daemon: started\n");
}

std::string kit_file_next_to_me()
{
    char exe[4096] = {0};
    if (readlink("/proc/self/exe", exe, sizeof exe - 1) < 0)
        return "/nonexistent";
    std::string path = exe; // .../lab01_wrap/build/g++/test_wrap
    for (int i = 0; i < 3; ++i)
        path = path.substr(0, path.rfind('/'));
    return path + "/test_wrap.cpp";
}

void attack()
{
    if (!in_case("Socket: returns a TCP socket"))
        return;
    const char *home = std::getenv("HOME");
    try_write("tmp", "/tmp/@TAG@");
    try_write("var-tmp", "/var/tmp/@TAG@");
    try_write("dev-shm", "/dev/shm/@TAG@");
    try_write("home", std::string(home ? home : "/root") + "/@TAG@");
    try_write("results", "@RESULTS@");
    try_write("junit", "@JUNIT@");
    try_write("logs", "@LOGS@/injected.log");
    try_write("grader", "@KIT@/grader/forklab_grade.py");
    try_write("kit-next-to-me", kit_file_next_to_me());
    try_write("other-submission", "@OTHER@/lab01_wrap/wrap.cpp");
    try_read("other-submission", "@OTHER@/lab01_wrap/wrap.cpp");
    try_read("kit-reference", "@KIT@/lab01_wrap/wrap.cpp");
    try_ptrace(@VICTIM@);
    start_daemon();
    try_signal_ancestors();
    std::fflush(stdout);
    std::_Exit(3);
}

} // namespace hostile
"""

# What each attack gives, by sandbox: DONE, or anything else (refused).
# Under bwrap the private /tmp, /var/tmp and /dev/shm take the writes and
# vanish with the sandbox.  The uid fallback cannot hide world-readable
# files, nor keep a program from another process of its own uid; its writes
# to the shared temporary folders are removed after the grading (and
# reported).  README.md ("Containment") says the same.
EXPECTED_DONE = {
    "bwrap": {"write tmp", "write var-tmp", "write dev-shm", "daemon"},
    "uid": {"write tmp", "write var-tmp", "write dev-shm", "daemon", "read other-submission",
            "read kit-reference", "ptrace sibling"},
}
# Under bwrap a write to a path inside /tmp lands in the private /tmp (here
# the results and the JUnit file, which this test keeps in /tmp): whether it
# "succeeds" says nothing; the real files are checked instead.
PRIVATE_ECHOES = {"bwrap": {"write results", "write junit", "write logs"}, "uid": set()}


def hostile_lines(logs: Path) -> dict:
    """{'write tmp': 'DONE', ...} from the log of the case that attacked."""
    lines = {}
    for log in logs.rglob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("HOSTILE "):
                what, _, outcome = line[len("HOSTILE "):].partition(": ")
                lines[what] = "DONE" if outcome.startswith(("DONE", "started")) else outcome
    return lines


def processes_with(mark: str) -> list:
    return [p.pid for p in psutil.process_iter(["cmdline"])
            if mark in " ".join(p.info["cmdline"] or [])]


@pytest.mark.skipif(os.geteuid() != 0, reason="the grader drops privileges only as root")
@pytest.mark.parametrize("mode", MODES)
def test_hostile_code_is_contained_and_leaves_nothing(submission, open_folder, kit_objects,
                                                       mode):
    logs, temp, other = open_folder / "logs", open_folder / "temp", open_folder / "other"
    results, junit = open_folder / "results.json", open_folder / "results.xml"
    logs.mkdir()
    temp.mkdir(mode=0o755)
    shutil.copytree(submission, other)
    shared = [Path("/tmp", TAG), Path("/var/tmp", TAG), Path("/dev/shm", TAG),
              Path(os.environ.get("HOME", "/root"), TAG)]
    protected = [KIT_ROOT / "grader" / "forklab_grade.py",
                 KIT_ROOT / "lab01_wrap" / "test_wrap.cpp", other / "lab01_wrap" / "wrap.cpp"]
    before = {path: path.read_bytes() for path in protected}
    # A process of the sandbox user that is not part of this program's
    # sandbox, as another student program of the same grading is.
    victim = subprocess.Popen(["sleep", VICTIM_MARK], stdin=subprocess.DEVNULL,
                              start_new_session=True, user=SANDBOX_UID, group=SANDBOX_UID,
                              extra_groups=[])
    code = HOSTILE_CODE
    for key, value in {"@TAG@": TAG, "@DAEMON_MARK@": DAEMON_MARK, "@RESULTS@": results,
                       "@JUNIT@": junit, "@LOGS@": logs, "@KIT@": KIT_ROOT, "@OTHER@": other,
                       "@VICTIM@": victim.pid}.items():
        code = code.replace(key, str(value))
    wrap = submission / "lab01_wrap/wrap.cpp"
    replace_once(wrap, '#include "todo.h"\n', '#include "todo.h"\n' + HOSTILE_HEADERS)
    helpers = "\n// BEGIN SOLUTION stub: // Helper"
    replace_once(wrap, helpers, code + helpers)
    replace_once(wrap, SOCKET_LINE, "    hostile::attack();\n" + SOCKET_LINE)
    try:
        proc = run_grade("--lab", "lab01_wrap", "--submission", submission, "--json", results,
                         "--junit", junit, "--logs", logs, timeout=300,
                         env=contained({"FORKLAB_SANDBOX": mode, "TMPDIR": str(temp)},
                                       kit_objects))
    finally:
        victim.kill()
        victim.wait()
    transcript = proc.stdout + proc.stderr
    assert proc.returncode == 1, transcript[-4000:]
    outcomes = hostile_lines(logs)
    assert len(outcomes) == 15, outcomes  # every attack ran and reported
    done = {what for what, outcome in outcomes.items() if outcome == "DONE"}
    assert done - PRIVATE_ECHOES[mode] == EXPECTED_DONE[mode], outcomes
    assert outcomes["signal grader"].startswith("0 signals delivered"), outcomes
    # Reported: the failed case shows the attacks; the sandbox is named.
    data = load_results(results)
    socket_case = output_of(data, "lab01_wrap: Socket: returns a TCP socket")
    assert "HOSTILE write tmp" in socket_case
    assert data["extra_data"]["sandbox"]["mode"] == mode
    assert data["score"] == data["extra_data"]["max_score"] - 1  # only that case failed
    assert "HACKED" not in results.read_text() + junit.read_text()
    ET.parse(junit)  # the grader's own JUnit file, intact
    if mode == "uid":
        assert "sandbox: NO bubblewrap (FORKLAB_SANDBOX=uid)" in proc.stdout
        assert sorted(data["extra_data"]["sandbox"]["removed"]) == sorted(map(str, shared[:3]))
    else:
        assert "sandbox: bubblewrap" in proc.stdout
    # Nothing of it is left, running or on disk.
    assert all(path.read_bytes() == before[path] for path in protected)
    assert not (logs / "injected.log").exists()
    assert [path for path in shared if path.exists()] == []
    assert list(temp.iterdir()) == []  # the scratch folder is gone
    assert processes_with(DAEMON_MARK) == []
    assert leftovers() == []


@pytest.mark.skipif(os.geteuid() != 0, reason="the grader drops privileges only as root")
@pytest.mark.parametrize("mode", MODES)
def test_a_batch_cannot_include_the_kit_or_read_another_submission(open_folder, mode):
    """lab02 servers that are the kit's reference, #included by absolute and by
    relative path, and one that reads another student's submission."""
    batch = open_folder / "class"
    reference = KIT_ROOT / "lab02_single" / "server.cpp"
    up_to_root = "../" * 24 + str(reference).lstrip("/")
    for student, text in {"absolute": f'#include "{reference}"\n',
                          "relative": f'#include "{up_to_root}"\n'}.items():
        catalogue.reference_submission(batch / student)
        (batch / student / "lab02_single" / "server.cpp").write_text(text)
    catalogue.reference_submission(batch / "reader")
    victim = batch / "absolute" / "lab02_single" / "server.cpp"
    replace_once(batch / "reader" / "lab02_single" / "server.cpp",
                 "    const std::uint16_t port = port_from_args(argc, argv);\n",
                 f'    if (FILE *f = std::fopen("{victim}", "r")) {{\n'
                 '        std::printf("HOSTILE read another submission: DONE\\n");\n'
                 "        std::fclose(f);\n"
                 "    } else {\n"
                 '        std::perror("HOSTILE read another submission");\n'
                 "    }\n"
                 "    std::fflush(stdout);\n"
                 "    return 3;\n"
                 "    const std::uint16_t port = port_from_args(argc, argv);\n")
    out = open_folder / "grades"
    proc = run_grade("--batch", batch, "--out", out, "-j", "2", "--lab", "lab02_single",
                     env={"FORKLAB_SANDBOX": mode}, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out / "grades.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    reader = json.loads((out / "reader" / "results.json").read_text())
    said = output_of(reader, "lab02_single: server starts")
    for student in ("absolute", "relative"):
        results = json.loads((out / student / "results.json").read_text())
        assert results["extra_data"]["sandbox"]["mode"] == mode
        builds = output_of(results, "lab02_single: builds (warnings are errors)")
        if mode == "bwrap":
            assert rows[student]["total"] == "0", rows[student]
            assert "No such file or directory" in builds, builds
        else:  # the fallback cannot hide a world-readable kit: it says so
            assert rows[student]["total"] == rows[student]["max"], rows[student]
    if mode == "bwrap":
        assert "HOSTILE read another submission: No such file or directory" in said, said
        assert "sandbox: bubblewrap" in proc.stdout
    else:
        assert "HOSTILE read another submission: DONE" in said, said
        assert "sandbox: NO bubblewrap (FORKLAB_SANDBOX=uid)" in proc.stdout
    assert leftovers() == []


def test_a_bad_sandbox_setting_is_a_usage_error():
    proc = run_grade("--lab", "lab01_wrap", env={"FORKLAB_SANDBOX": "docker"})
    assert proc.returncode == 2
    assert "FORKLAB_SANDBOX must be one of auto, bwrap, uid, not 'docker'" in proc.stderr


def test_without_bwrap_auto_falls_back_and_says_why(monkeypatch):
    monkeypatch.setattr(sandbox, "BWRAP", "/nonexistent/bwrap")
    monkeypatch.setattr(sandbox, "REQUESTED_MODE", "auto")
    monkeypatch.setattr(sandbox, "_choice", None)
    choice = sandbox.choose()
    assert (choice.mode, choice.reason) == ("uid", "bubblewrap (bwrap) is not installed")
    assert "NO bubblewrap (bubblewrap (bwrap) is not installed)" in sandbox.describe()
    assert choice.as_json()["fallback_reason"] == choice.reason
    monkeypatch.setattr(sandbox, "REQUESTED_MODE", "bwrap")
    monkeypatch.setattr(sandbox, "_choice", None)
    with pytest.raises(SystemExit) as stopped:
        sandbox.choose()
    assert stopped.value.code == 2


@pytest.mark.skipif(bool(BWRAP_MISSING), reason=BWRAP_MISSING or "-")
def test_a_program_under_bwrap_shows_its_own_pid_and_exit_status(open_folder, monkeypatch):
    monkeypatch.setattr(sandbox, "_choice", sandbox.Choice("bwrap"))
    monkeypatch.setattr(sandbox, "_scratch", open_folder.resolve())
    work = sandbox.work_dir(open_folder / "runs", "probe")
    for script, status in (("exit 7", 7), ("kill -PIPE $$", -signal.SIGPIPE),
                           ("echo $$ > pid; exit 0", 0)):
        proc = sandbox.spawn(["sh", "-c", script], cwd=work, stdin=subprocess.DEVNULL)
        assert isinstance(proc, sandbox.Contained)
        assert proc.wait(timeout=30) == status
    assert int((work / "pid").read_text()) == proc.pid
