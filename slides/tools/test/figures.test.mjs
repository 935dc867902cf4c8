// Unit tests of the deck's figures: panels of the bench's chart, drawn by
// bench/svgplot.py from the bench's JSON.  The numbers here are made up for
// the test and never reach a deck.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";

import { FIGURES, figureSvg } from "../figures.mjs";

const SVGPLOT = fileURLToPath(new URL("../../../bench/svgplot.py", import.meta.url));

// Temporary folders of this file's tests, removed when they have run.
const scratchDirs = [];
after(() => {
    for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function scratchDir(prefix) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    scratchDirs.push(dir);
    return dir;
}

function writeJson(data) {
    const file = path.join(scratchDir("forklab-fig-"), "r.json");
    fs.writeFileSync(file, JSON.stringify(data));
    return file;
}

const fork = (rss, touch, us) => ({ rss_mb: rss, touch_mb: touch, mappings: 40, cpu_us: { total: us } });

const FAKE = {
    schema: "forklab-bench/1",
    date: "2000-01-01T00:00:00+00:00",
    machine: { nproc: 2, cpu_model: "Test CPU", kernel: "0.0", os: "Test OS", loadavg_before: 1.5 },
    config: { cells: ["conn-1", "conn-64", "persistent-300"], duration_s: 1, sample_every_s: 0.5 },
    servers: {
        lab04: { short: "lab04", label: "lab04 forking", cells: {
            "conn-1": { ops: 5, ops_per_s: 100 }, "conn-64": { ops: 5, ops_per_s: 400 },
            "persistent-300": { ops: 5, ops_per_s: 900, server: { pss_mb: 3, processes: 301 } } } },
        epoll: { short: "epoll", label: "epoll server", cells: { "conn-1": { problem: "did not start" } } },
    },
    fork_cost: {
        memory: [fork(3, 0, 100), fork(103, 100, 2000)],
        memory_hugepages: [fork(103, 100, 150)],
        mappings: [fork(3, 0, 100), { ...fork(3, 0, 900), mappings: 1040 }],
    },
};

test("without the JSON every figure is a marked placeholder, with a warning", () => {
    for (const name of FIGURES) {
        const { svg, warning } = figureSvg(name, "/nonexistent/reference.json");
        assert.match(svg, /Not measured yet/);
        assert.match(svg, /make -C bench bench/);
        assert.match(warning, /placeholder/);
    }
});

test("the figures show the measured values and the machine, and skip what failed", () => {
    const file = writeJson(FAKE);
    const rate = figureSvg("conn-rate", file);
    assert.equal(rate.warning, null);
    assert.match(rate.svg, /<title>Connection per request/);
    assert.match(rate.svg, />100</);
    assert.match(rate.svg, />400</);
    assert.match(rate.svg, />lab04</); // the legend: short names
    assert.doesNotMatch(rate.svg, />epoll</); // its only cell failed
    assert.match(rate.svg, /on 2000-01-01: 2 CPUs \(Test CPU\), Linux 0\.0, load average 1\.5/);
    const cost = figureSvg("fork-cost", file).svg;
    assert.match(cost, />0\.1</); // µs shown as ms
    assert.match(cost, />2</);
    assert.match(cost, />0\.15</);
    assert.match(figureSvg("child-memory", file).svg, />10</); // 3 MB / 300 clients
    assert.match(figureSvg("fork-mappings", file).svg, />1,040 mappings</);
});

test("a figure is the bench's own drawing: what bench/svgplot.py --figure prints", () => {
    const file = writeJson(FAKE);
    for (const name of FIGURES) {
        const python = process.env.FORKLAB_PYTHON || "python3";
        const run = spawnSync(python, [SVGPLOT, "--figure", name, file], { encoding: "utf8" });
        assert.equal(run.status, 0, run.stderr);
        assert.equal(figureSvg(name, file).svg, run.stdout);
    }
});

test("a JSON without a figure's data gives a placeholder; a wrong schema is an error", () => {
    const file = writeJson({ schema: "forklab-bench/1", servers: {}, config: { cells: [] } });
    assert.match(figureSvg("fork-cost", file).warning, /no data for figure fork-cost/);
    assert.match(figureSvg("conn-rate", file).warning, /no data for figure conn-rate/);
    assert.throws(() => figureSvg("conn-rate", writeJson({ schema: "other/9" })), /expected "forklab-bench\/1"/);
    assert.throws(() => figureSvg("pie", file), /unknown figure/);
});
