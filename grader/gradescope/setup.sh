#!/usr/bin/env bash
# Gradescope runs this once, as root, to build the autograder image
# (Ubuntu).  It installs what grading needs: compilers, doctest, the grader's
# Python packages, bubblewrap (the sandbox of student code).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends make g++ doctest-dev python3 python3-pytest \
    python3-psutil bubblewrap
