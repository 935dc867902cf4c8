"""forklab's grader, a package: `grader.forklab_grade` is the command.

The kit's folder must be on sys.path for `import grader` to work.  Nothing
in the kit edits sys.path: the launcher grader/grade puts the folder on
PYTHONPATH and runs `python3 -m grader.forklab_grade`; `make` and the
scripts run `python3 -m ...` from the kit's folder, which `-m` puts on
sys.path.  See ARCHITECTURE.md ("How Python finds the kit").
"""
