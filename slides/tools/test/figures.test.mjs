// Unit tests of the charts drawn from the bench's JSON.  The numbers here
// are made up for the test and never reach a deck.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";

import { FIGURES, figureSvg, formatNumber } from "../figures.mjs";

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

const FAKE = {
    schema: "forklab-bench/1",
    date: "2000-01-01T00:00:00+00:00",
    machine: { nproc: 2, cpu_model: "Test CPU", kernel: "0.0", loadavg_before: 1.5, loadavg_after: 2.25 },
    config: { cells: ["conn-1", "conn-8", "conn-64", "persistent-300"] },
    servers: {
        lab04: { short: "lab04", cells: { "conn-1": { ops_per_s: 100 }, "conn-64": { ops_per_s: 400 },
                                          "persistent-300": { server: { pss_mb: 3, processes: 301 } } } },
        epoll: { short: "epoll", cells: { "conn-1": { problem: "did not start" } } },
    },
    fork_cost: {
        memory: [{ rss_mb: 3, touch_mb: 0, round_trip_us: { p50: 100 } },
                 { rss_mb: 103, touch_mb: 100, round_trip_us: { p50: 2000 } }],
        memory_hugepages: [{ rss_mb: 103, touch_mb: 100, round_trip_us: { p50: 150 } }],
        mappings: [{ mappings: 40, round_trip_us: { p50: 100 } }, { mappings: 1040, round_trip_us: { p50: 900 } }],
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

test("the charts show the measured values and the machine, and skip what failed", () => {
    const file = writeJson(FAKE);
    const rate = figureSvg("conn-rate", file);
    assert.equal(rate.warning, null);
    assert.match(rate.svg, />100</);
    assert.match(rate.svg, />400</);
    assert.doesNotMatch(rate.svg, />epoll</); // its only cell failed
    assert.match(rate.svg, /Test CPU, 2 CPUs, Linux 0\.0, load average 1\.5 → 2\.25/);
    const fork = figureSvg("fork-cost", file).svg;
    assert.match(fork, />0\.100</); // µs shown as ms
    assert.match(fork, />2\.00</);
    assert.match(fork, />0\.150</);
    assert.match(figureSvg("child-memory", file).svg, />10\.2 {2}\(301 processes\)</);
    assert.match(figureSvg("fork-mappings", file).svg, />1040 mappings</);
});

test("a JSON without a figure's data gives a placeholder; a wrong schema is an error", () => {
    const file = writeJson({ schema: "forklab-bench/1", servers: {} });
    assert.match(figureSvg("fork-cost", file).warning, /no data for figure fork-cost/);
    assert.throws(() => figureSvg("conn-rate", writeJson({ schema: "other/9" })), /expected "forklab-bench\/1"/);
    assert.throws(() => figureSvg("pie", file), /unknown figure/);
});

test("numbers keep three significant digits", () => {
    assert.equal(formatNumber(1234567), "1.23 M");
    assert.equal(formatNumber(14321), "14.3 k");
    assert.equal(formatNumber(6707), "6707");
    assert.equal(formatNumber(0.1541), "0.154");
});
