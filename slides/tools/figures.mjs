// figures.mjs -- the opening deck's charts, drawn at build time from what the
// kit measured: bench/results/reference.json, written by `make bench`
// (schema "forklab-bench/1", see bench/bench.py).
//
//   fork-cost      fork()+_exit()+waitpid() per iteration against the
//                  parent's resident memory (4 KB and 2 MB pages)
//   fork-mappings  the same against the parent's number of mappings
//   conn-rate      connections per second of each server, 1/8/64 clients
//   child-memory   memory per client with many persistent clients
//
// No number is ever made up here: without the JSON, or without the part of
// it a figure needs, the figure is a placeholder that says so and names the
// command that measures it.  The build prints a warning for each.

import fs from "node:fs";
import { DeckError } from "./kit-code.mjs";

export const FIGURES = ["fork-cost", "fork-mappings", "conn-rate", "child-memory"];

const WIDTH = 1160;
const FONT = "DejaVu Sans, sans-serif";
const SERVER_COLORS = {
    lab04: "#2f64b3", yours: "#7b2a9a", fork_c: "#5b8fd1", fork_c_static: "#9fbde8",
    python_fork: "#d98f00", lab02: "#8a8f99", epoll: "#2f8a4c",
};

function escapeXml(text) {
    return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

// Three significant digits, thousands as k and M:
// 1234567 -> "1.23 M", 14321 -> "14.3 k", 6707 -> "6707", 65.3 -> "65.3", 0.1541 -> "0.154".
export function formatNumber(value) {
    const three = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2)
                                                                             : v.toPrecision(3));
    if (value >= 1e6) return `${three(value / 1e6)} M`;
    if (value >= 1e4) return `${three(value / 1e3)} k`;
    return three(value);
}

// A size in MB for a label: "3.3", "13", "1003".
function megabytes(mb) {
    return mb >= 10 ? mb.toFixed(0) : mb.toFixed(1);
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

// A horizontal bar chart: groups of labelled bars, each bar with its value.
// groups: [{label, bars: [{label, value, color}]}]; one linear axis from 0.
// The slide's heading names the chart: `title` is its <title> (alt text),
// not drawn.  Legend and unit share the top line; the machine, the bottom.
export function barChart({ title, groups, unit, legend = [], footer = "" }) {
    const labelWidth = 300;
    // Room right of the longest bar for its value text (about 12 px a character).
    const valueText = (bar) => `${formatNumber(bar.value)}${bar.label ? `  ${bar.label}` : ""}`;
    const valueRoom = 30 + 12 * Math.max(...groups.flatMap((g) => g.bars.map((b) => valueText(b).length)));
    const barHeight = 28;
    const barGap = 4;
    const groupGap = 18;
    const top = 52;
    const max = Math.max(...groups.flatMap((g) => g.bars.map((b) => b.value)), 1e-9);
    const plotWidth = WIDTH - labelWidth - valueRoom - 20;
    const parts = [];
    let y = top;
    for (const group of groups) {
        const height = group.bars.length * (barHeight + barGap) - barGap;
        parts.push(`<text x="${labelWidth - 16}" y="${y + height / 2 + 8}" font-size="22" text-anchor="end" fill="#1d2433">${escapeXml(group.label)}</text>`);
        for (const bar of group.bars) {
            const w = Math.max(2, (bar.value / max) * plotWidth);
            parts.push(`<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" rx="3" fill="${bar.color}"/>`);
            parts.push(`<text x="${(labelWidth + w + 10).toFixed(1)}" y="${y + barHeight - 7}" font-size="20" fill="#1d2433">${escapeXml(valueText(bar))}</text>`);
            y += barHeight + barGap;
        }
        y += groupGap - barGap;
    }
    const axisBottom = y - groupGap + 8;
    parts.push(`<path d="M${labelWidth},${top - 8} L${labelWidth},${axisBottom}" stroke="#6b7385" stroke-width="2"/>`);
    let legendX = labelWidth;
    const legendParts = legend.map((item) => {
        const out = `<rect x="${legendX}" y="8" width="22" height="22" rx="3" fill="${item.color}"/>` +
                    `<text x="${legendX + 30}" y="27" font-size="20" fill="#1d2433">${escapeXml(item.label)}</text>`;
        legendX += 30 + item.label.length * 11 + 30;
        return out;
    });
    const height = axisBottom + (footer ? 40 : 10);
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" font-family="${FONT}">
<title>${escapeXml(title)}</title>
<text x="${WIDTH}" y="27" font-size="20" text-anchor="end" fill="#5b6578">${escapeXml(unit)}</text>
${legendParts.join("\n")}
${parts.join("\n")}
${footer ? `<text x="0" y="${height - 10}" font-size="18" fill="#5b6578">${escapeXml(footer)}</text>` : ""}
</svg>`;
}

function machineLine(data) {
    const m = data.machine ?? {};
    const cpus = m.nproc ? `${m.nproc} CPUs` : "";
    const model = (m.cpu_model ?? "").replace(/\s+/g, " ").replace(/\(R\)|\(TM\)/g, "");
    const date = (data.date ?? "").slice(0, 10);
    // The load average tells how busy the machine was: part of the result.
    const load = typeof m.loadavg_before === "number"
        ? `load average ${m.loadavg_before}${typeof m.loadavg_after === "number" ? ` → ${m.loadavg_after}` : ""}`
        : "";
    const where = [model, cpus, m.kernel ? `Linux ${m.kernel}` : "", load].filter(Boolean).join(", ");
    return `measured by make bench${date ? ` on ${date}` : ""}${where ? `: ${where}` : ""}`;
}

function usable(row) {
    return row && !row.problem && row.round_trip_us && typeof row.round_trip_us.p50 === "number";
}

function forkCost(data) {
    const sweep = data.fork_cost;
    const small = (sweep?.memory ?? []).filter(usable);
    if (small.length === 0) return null;
    const huge = (sweep.memory_hugepages ?? []).filter(usable);
    const groups = small.map((row) => {
        const bars = [{ value: row.round_trip_us.p50 / 1000, color: "#2f64b3" }];
        const big = huge.find((h) => h.touch_mb === row.touch_mb);
        if (big) bars.push({ value: big.round_trip_us.p50 / 1000, color: "#9fbde8" });
        return { label: `parent ${megabytes(row.rss_mb)} MB`, bars };
    });
    const legend = [{ label: "4 KB pages", color: "#2f64b3" }];
    if (huge.length) legend.push({ label: "2 MB pages (hugepages)", color: "#9fbde8" });
    return barChart({ title: "fork() + _exit() + waitpid(): median time per child",
                      unit: "ms, less is better", groups, legend, footer: machineLine(data) });
}

function forkMappings(data) {
    const rows = (data.fork_cost?.mappings ?? []).filter(usable);
    if (rows.length < 2) return null;
    const groups = rows.map((row) => ({
        label: `${row.mappings} mappings`,
        bars: [{ value: row.round_trip_us.p50 / 1000, color: "#7b2a9a" }],
    }));
    return barChart({ title: "fork() + _exit() + waitpid() against the parent's mappings",
                      unit: "ms per child, median", groups, footer: machineLine(data) });
}

function serverEntries(data) {
    return Object.entries(data.servers ?? {}).filter(([, s]) => s && s.cells);
}

function connRate(data) {
    // One client alone (the cost of each connection) and 64 at once (the
    // cost of many processes); the bench also measures 8.
    const counts = [1, 64];
    const shades = ["#9fbde8", "#174a8f"];
    const groups = [];
    for (const [, server] of serverEntries(data)) {
        const bars = [];
        counts.forEach((clients, i) => {
            const cell = server.cells[`conn-${clients}`];
            if (cell && typeof cell.ops_per_s === "number" && !cell.problem && !cell.skipped)
                bars.push({ value: cell.ops_per_s, color: shades[i] });
        });
        if (bars.length) groups.push({ label: server.short ?? server.label, bars });
    }
    if (groups.length === 0) return null;
    return barChart({
        title: "Connections per second of each server: connect, one line, reply, close",
        unit: "connections/s, more is better", groups,
        legend: counts.map((c, i) => ({ label: `${c} client${c > 1 ? "s" : ""} at once`, color: shades[i] })),
        footer: machineLine(data),
    });
}

function childMemory(data) {
    const key = (data.config?.cells ?? []).filter((c) => c.startsWith("persistent-")).pop();
    if (!key) return null;
    const clients = Number(key.split("-")[1]);
    const groups = [];
    for (const [name, server] of serverEntries(data)) {
        const peak = server.cells[key]?.server;
        if (!peak || typeof peak.pss_mb !== "number" || !(clients > 0)) continue;
        groups.push({
            label: server.short ?? server.label,
            bars: [{ value: (peak.pss_mb * 1024) / clients, color: SERVER_COLORS[name] ?? "#5b8fd1",
                     label: `(${peak.processes} process${peak.processes === 1 ? "" : "es"})` }],
        });
    }
    if (groups.length === 0) return null;
    return barChart({ title: `Memory per client with ${clients} clients connected (PSS)`,
                      unit: "KB per client, less is better", groups, footer: machineLine(data) });
}

const DRAW = { "fork-cost": forkCost, "fork-mappings": forkMappings, "conn-rate": connRate,
               "child-memory": childMemory };

// {svg, warning}: the chart, or a placeholder and the reason.
export function figureSvg(name, source) {
    if (!FIGURES.includes(name))
        throw new DeckError(`@figure ${name}: unknown figure (${FIGURES.join(", ")})`);
    if (!fs.existsSync(source)) {
        return { svg: placeholderSvg(name, "the kit has not measured this machine yet"),
                 warning: `${source} does not exist: figure ${name} is a placeholder (run make bench)` };
    }
    let data;
    try {
        data = JSON.parse(fs.readFileSync(source, "utf8"));
    } catch (error) {
        throw new DeckError(`@figure ${name}: ${source} is not valid JSON: ${error.message}`);
    }
    if (data.schema !== "forklab-bench/1")
        throw new DeckError(`@figure ${name}: ${source} has schema ${JSON.stringify(data.schema)}, ` +
                            `expected "forklab-bench/1" (update tools/figures.mjs)`);
    const svg = DRAW[name](data);
    if (svg === null) {
        return { svg: placeholderSvg(name, "this run of the bench did not measure it"),
                 warning: `${source} has no data for figure ${name}: placeholder` };
    }
    return { svg, warning: null };
}
