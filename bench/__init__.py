"""The bench, a package: `python3 -m bench.bench` from the kit's folder (what
`make -C bench bench` runs).  See README.md."""
