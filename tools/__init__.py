"""The kit's tools, a package: the ones that import the grader or each other
run as modules from the kit's folder (`python3 -m tools.demo`).  See
ARCHITECTURE.md ("How Python finds the kit")."""
