// figures.mjs -- the opening deck's charts of what the kit measured
// (bench/results/reference.json, written by `make bench`).  They are panels
// of the bench's own chart, drawn by bench/svgplot.py -- the one drawing of
// the bench's results in the kit -- run with the kit's Python ($PYTHON, which
// slides/Makefile sets from tools/find-python; else python3):
//
//   fork-cost      fork()+_exit()+waitpid() against the parent's resident
//                  memory (4 KB and 2 MB pages)
//   fork-mappings  the same against the parent's number of mappings
//   conn-rate      connections per second of each server, 1/8/64 clients
//   child-memory   memory per client with many persistent clients
//
// No number is ever made up here: without the JSON, or without the part of
// it a figure needs, the figure is a placeholder that says so and names the
// command that measures it.  The build prints a warning for each.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { DeckError } from "./kit-code.mjs";

export const FIGURES = ["fork-cost", "fork-mappings", "conn-rate", "child-memory"];

const SVGPLOT = fileURLToPath(new URL("../../bench/svgplot.py", import.meta.url));
// svgplot.py's exit status when the results hold no data for the figure.
const NO_DATA = 3;
const WIDTH = 1160;
const FONT = "DejaVu Sans, sans-serif";

function escapeXml(text) {
    return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

export function placeholderSvg(name, reason) {
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} 400" width="${WIDTH}" height="400" font-family="${FONT}">
<title>Figure ${escapeXml(name)}: not measured yet</title>
<rect x="3" y="3" width="${WIDTH - 6}" height="394" rx="14" fill="#fff7e6" stroke="#d98f00" stroke-width="4" stroke-dasharray="18 10"/>
<text x="${WIDTH / 2}" y="150" font-size="40" font-weight="bold" text-anchor="middle" fill="#8a5a00">Not measured yet</text>
<text x="${WIDTH / 2}" y="215" font-size="26" text-anchor="middle" fill="#5c4300">${escapeXml(reason)}</text>
<text x="${WIDTH / 2}" y="275" font-size="24" font-family="DejaVu Sans Mono, monospace" text-anchor="middle" fill="#5c4300">make -C bench bench BENCH_ARGS="--save-as reference"</text>
<text x="${WIDTH / 2}" y="330" font-size="22" text-anchor="middle" fill="#5c4300">writes bench/results/reference.json; then make -C slides</text>
</svg>`;
}

// {svg, warning}: the chart, or a placeholder and the reason.
export function figureSvg(name, source) {
    if (!FIGURES.includes(name))
        throw new DeckError(`@figure ${name}: unknown figure (${FIGURES.join(", ")})`);
    if (!fs.existsSync(source)) {
        return { svg: placeholderSvg(name, "the kit has not measured this machine yet"),
                 warning: `${source} does not exist: figure ${name} is a placeholder (run make bench)` };
    }
    const python = process.env.FORKLAB_PYTHON || "python3";
    const run = spawnSync(python, [SVGPLOT, "--figure", name, source], { encoding: "utf8" });
    if (run.error)
        throw new DeckError(`@figure ${name}: cannot run ${python}: ${run.error.message}`);
    if (run.status === NO_DATA) {
        return { svg: placeholderSvg(name, "this run of the bench did not measure it"),
                 warning: `${source} has no data for figure ${name}: placeholder` };
    }
    if (run.status !== 0)
        throw new DeckError(`@figure ${name}: ${run.stderr.trim() || `${SVGPLOT} exited with ${run.status}`}`);
    return { svg: run.stdout, warning: null };
}
