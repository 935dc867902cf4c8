"""The handout's GitHub Actions workflow (.github/workflows/grade.yml), for
test_platforms.py: read as GitHub reads it (the_workflow, triggers_of), which
actions it may use (DEPRECATED, CURRENT), and its steps run as a runner runs
them (job_env, run_step)."""

import re
import subprocess

import yaml

from conftest import KIT_ROOT


WORKFLOWS = KIT_ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "grade.yml"
# Actions their own repositories mark deprecated, or whose versions GitHub retired.
DEPRECATED = re.compile(r"classroom-resources/|education/autograding|"
                        r"actions/(checkout|upload-artifact|download-artifact)@v[123]\b")
# The oldest major versions allowed: the latest whose releases could be
# confirmed (v7.0.1 of each, mid-2026); before v6 they run on Node.js 20,
# which GitHub has retired from its runners.
CURRENT = {"actions/checkout": 7, "actions/upload-artifact": 7}


def the_workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def triggers_of(data):
    return data.get("on", data.get(True))  # YAML 1.1 reads a bare `on:` as true


def job_env(job: dict, variables: dict) -> dict:
    """The job's env as GitHub sets it, its ${{ vars.X || 'default' }} evaluated."""
    def evaluate(match):
        name, default = match.group(1), match.group(2)
        return variables.get(name) or default
    return {k: re.sub(r"\$\{\{\s*vars\.(\w+)\s*\|\|\s*'([^']*)'\s*\}\}", evaluate, str(v))
            for k, v in job.get("env", {}).items()}


def run_step(step: dict, cwd, env) -> subprocess.CompletedProcess:
    """A `shell: bash` step's script, run as a runner runs it."""
    script = cwd.parent / f"step-{abs(hash(step['run']))}.sh"
    script.write_text(step["run"])
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                          cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=900)
