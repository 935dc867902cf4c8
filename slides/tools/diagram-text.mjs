#!/usr/bin/env node
// diagram-text.mjs -- the Chinese edition of a diagram, from its one source.
//
//   node tools/diagram-text.mjs --table diagrams/zh.json --out FILE DIAGRAM.svg|DIAGRAM.dot
//   node tools/diagram-text.mjs --table diagrams/zh.json --missing DIAGRAM...
//
// A diagram is drawn once, in English (diagrams/NAME.svg by hand, or
// diagrams/NAME.dot for Graphviz).  Its Chinese words live in one table,
// diagrams/zh.json:
//
//   "labels": { "*": {English: Chinese, ...}, "NAME": {English: Chinese, ...} }
//   "code": [words that are names in code, not English: "accept", "connfd", ...]
//   "untranslated": { "NAME": "why this diagram stays English here" }
//
// A label is a unit of text: the <title> (the slide's alt text), a whole
// <text> element, or a Graphviz label (the graph's name and every label=,
// with its line breaks written as real newlines in the table).  A label is
// looked up in its diagram's section, then in "*".  In a <text> with <tspan>s
// each tspan is written {like this}: the table's Chinese has the same number
// of {...}, in the same order, and each gets its tspan's attributes back (so
// code keeps its monospace font).  The Makefile writes build/diagrams/NAME.svg
// (the source as is) and, with this tool, build/diagrams/NAME.zh.svg: labels
// replaced, "Noto Sans CJK SC", "WenQuanYi Micro Hei" added to every font
// list (before the generic family), xml:lang="zh-CN" on the root.  A .dot
// source becomes a translated .dot that Graphviz then lays out.
//
// Which labels need Chinese (the rule `make test` checks, --missing here):
// a label with an English word.  A word is a run of two or more ASCII
// letters (digits, "_" and "." joining it into one token); it is code, not
// English, when
//   * it is set in a monospace font (its <text>, <tspan> or <g>);
//   * its token holds a digit, "_" or an inner "." (lab01, sa_flags, lb.data);
//   * it has a capital after its first letter (SIGCHLD, EOF, LineBuffer);
//   * a "(" follows it at once (fork(), waitpid(-1, ...));
//   * or it is one of the table's "code" words (connfd, accept, Readline...).
// A label without English words (numbers, addresses, code) stays as it is;
// the table may still give one.  A label with English words and no entry is
// left in English, with a warning here and a failure in `make test`
// (tools/check-decks.mjs --labels-only).  A diagram listed in "untranslated"
// (the grader's timelines: their words are drawn by grader/harness/
// timeline.py) is copied as is, and the check only notes it.

import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

export const CJK_FONTS = ["Noto Sans CJK SC", "WenQuanYi Micro Hei"];
const GENERIC = new Set(["serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui"]);

export function loadTable(file) {
    const table = JSON.parse(fs.readFileSync(file, "utf8"));
    return { labels: table.labels ?? {}, code: new Set(table.code ?? []),
             untranslated: table.untranslated ?? {} };
}

// ---- XML text -------------------------------------------------------------

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
export const unescapeXml = (s) => s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e) =>
    e[0] === "#" ? String.fromCodePoint(e[1].toLowerCase() === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
                 : ENTITIES[e] ?? m);
export const escapeXml = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const attr = (attrs, name) => new RegExp(String.raw`(?:^|\s)${name}\s*=\s*"([^"]*)"`).exec(attrs)?.[1] ?? null;
const monospace = (family) => family !== null && /mono|monospace|courier/i.test(family);
export const normalize = (s) => s.replace(/\s+/g, " ").trim();

// The labels of an SVG, in document order: {kind, key, check, start, end,
// open, parts} where key is what the table is searched for, check the text
// the English rule reads (monospace parts left out), [start, end) the inner
// text's span in the source, and parts the tspans ({attrs, text}) or null.
export function svgLabels(svg) {
    const labels = [];
    const families = []; // font-family of each open <g>/<svg>, inherited
    const tag = /<!--[\s\S]*?-->|<(\/?)([\w:-]+)((?:\s+[\w:-]+\s*=\s*"[^"]*")*)\s*(\/?)>/g;
    for (let m = tag.exec(svg); m; m = tag.exec(svg)) {
        if (m[0].startsWith("<!--")) continue;
        const [, closing, name, attrs, selfClosing] = m;
        const inherited = families.at(-1) ?? null;
        if (name === "g" || name === "svg") {
            if (closing) families.pop();
            else if (!selfClosing) families.push(attr(attrs, "font-family") ?? inherited);
            continue;
        }
        if (closing || selfClosing || (name !== "title" && name !== "text")) continue;
        const end = svg.indexOf(`</${name}>`, tag.lastIndex);
        if (end < 0) break;
        const start = tag.lastIndex;
        const inner = svg.slice(start, end);
        tag.lastIndex = end + name.length + 3;
        if (name === "title") {
            const text = normalize(unescapeXml(inner));
            labels.push({ kind: "title", key: text, check: text, start, end, parts: null });
            continue;
        }
        const family = attr(attrs, "font-family") ?? inherited;
        const parts = [];
        let key = "";
        let check = "";
        const piece = /<tspan((?:\s+[\w:-]+\s*=\s*"[^"]*")*)\s*>([^<]*)<\/tspan>|([^<]+)/g;
        for (let p = piece.exec(inner); p; p = piece.exec(inner)) {
            if (p[3] !== undefined) {
                const text = unescapeXml(p[3]);
                key += text;
                if (!monospace(family)) check += text;
            } else {
                const text = unescapeXml(p[2]);
                parts.push({ attrs: p[1], text });
                key += `{${text}}`;
                if (!monospace(attr(p[1], "font-family") ?? family)) check += ` ${text} `;
            }
        }
        labels.push({ kind: "text", key: normalize(key), check, start, end, parts: parts.length ? parts : null,
                      attrs, family });
    }
    return labels;
}

// Graphviz: the graph's name and every label="...", newlines as "\n".
const DOT_LABEL = /(\bdigraph\s+|\bgraph\s+|\blabel\s*=\s*)"((?:[^"\\]|\\.)*)"/g;
const fromDot = (s) => s.replace(/\\([nlr])/g, "\n").replace(/\\(.)/g, "$1");
const toDot = (s) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export function dotLabels(dot) {
    const labels = [];
    // Comments are not labels: blank them out (same length) before matching.
    const bare = dot.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (c) => " ".repeat(c.length));
    DOT_LABEL.lastIndex = 0;
    for (let m = DOT_LABEL.exec(bare); m; m = DOT_LABEL.exec(bare)) {
        const start = m.index + m[1].length;
        const key = fromDot(m[2]).split("\n").map(normalize).join("\n");
        labels.push({ kind: m[1].startsWith("label") ? "dot" : "title", key, check: key,
                      start, end: start + m[2].length + 2, parts: null });
    }
    return labels;
}

export const labelsOf = (source, file) => (file.endsWith(".dot") ? dotLabels(source) : svgLabels(source));

// ---- the English rule -----------------------------------------------------

// The English words of a label's text (see the header).
export function englishWords(text, code = new Set()) {
    const words = [];
    const token = /[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*/g;
    for (let m = token.exec(text); m; m = token.exec(text)) {
        const word = m[0];
        if (!/^[A-Za-z]{2,}$/.test(word)) continue; // digits, "_", "." or a lone letter: not a word
        if (/[A-Z]/.test(word.slice(1))) continue; // SIGCHLD, EOF, LineBuffer
        if (text[m.index + word.length] === "(") continue; // fork(), waitpid(-1, ...)
        if (code.has(word)) continue;
        words.push(word);
    }
    return words;
}

export function lookup(table, name, key) {
    return table.labels[name]?.[key] ?? table.labels["*"]?.[key];
}

// The labels of a diagram that need Chinese and have none.
export function missingLabels(table, name, source, file) {
    if (name in table.untranslated) return [];
    return labelsOf(source, file).filter((l) => englishWords(l.check, table.code).length > 0 &&
                                                lookup(table, name, l.key) === undefined)
        .map((l) => l.key);
}

// The labels of an edition as drawn (a given Chinese edition, or a built
// one): those still holding English words.
export function englishLeft(source, file, code) {
    return labelsOf(source, file).filter((l) => englishWords(l.check, code).length > 0).map((l) => l.key);
}

// ---- writing the edition --------------------------------------------------

// A font list with the CJK fonts in it, before its generic family.
export function withCjkFonts(list, quote = "'") {
    const fonts = list.split(",").map((f) => f.trim()).filter(Boolean);
    if (fonts.some((f) => CJK_FONTS.includes(f.replace(/^['"]|['"]$/g, "")))) return list;
    const at = GENERIC.has(fonts.at(-1)) ? fonts.length - 1 : fonts.length;
    fonts.splice(at, 0, ...CJK_FONTS.map((f) => (quote ? `${quote}${f}${quote}` : f)));
    return fonts.join(quote ? ", " : ",");
}

function svgInner(label, chinese, where) {
    if (label.kind !== "text" || label.parts === null) return escapeXml(chinese);
    const pieces = chinese.split(/\{([^{}]*)\}/);
    const count = (pieces.length - 1) / 2;
    if (count !== label.parts.length)
        throw new Error(`${where}: the Chinese of "${label.key}" has ${count} {...}, ` +
                        `the English ${label.parts.length}`);
    return pieces.map((text, i) => (i % 2 === 0 ? escapeXml(text)
        : `<tspan${label.parts[(i - 1) / 2].attrs}>${escapeXml(text)}</tspan>`)).join("");
}

// The Chinese edition of a diagram's source: {text, missing}.
export function translate(table, name, source, file) {
    if (name in table.untranslated) return { text: source, missing: [] };
    const dot = file.endsWith(".dot");
    const labels = labelsOf(source, file);
    const missing = [];
    let out = "";
    let at = 0;
    for (const label of labels) {
        const chinese = lookup(table, name, label.key);
        if (chinese === undefined) {
            if (englishWords(label.check, table.code).length > 0) missing.push(label.key);
            continue;
        }
        const text = dot ? `"${toDot(chinese)}"` : svgInner(label, chinese, `${file}`);
        out += source.slice(at, label.start) + text;
        at = label.end;
    }
    out += source.slice(at);
    if (dot) {
        out = out.replace(/\bfontname\s*=\s*"([^"]*)"/g, (m, list) => `fontname="${withCjkFonts(list, "")}"`);
    } else {
        out = out.replace(/\bfont-family="([^"]*)"/g, (m, list) => `font-family="${withCjkFonts(list)}"`)
                 .replace(/font-family:\s*([^;"}]+)/g, (m, list) => `font-family: ${withCjkFonts(list.trim())}`)
                 .replace(/<svg\b(?![^>]*xml:lang)/, '<svg xml:lang="zh-CN"');
    }
    return { text: out, missing };
}

// Entries of the table that match no label: stale once an English label changes.
export function unusedEntries(table, sources) {
    const unused = [];
    const all = new Set();
    for (const [name, { source, file }] of Object.entries(sources)) {
        for (const label of labelsOf(source, file)) {
            all.add(`${name}\u0000${label.key}`);
            all.add(`*\u0000${label.key}`);
        }
    }
    for (const [section, entries] of Object.entries(table.labels)) {
        if (section !== "*" && !(section in sources)) {
            unused.push(`section "${section}": no diagram of that name`);
            continue;
        }
        for (const key of Object.keys(entries))
            if (!all.has(`${section}\u0000${key}`)) unused.push(`${section}: "${key}"`);
    }
    return unused;
}

function main(argv) {
    const options = { files: [] };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--table") options.table = argv[++i];
        else if (argv[i] === "--out") options.out = argv[++i];
        else if (argv[i] === "--missing") options.missing = true;
        else options.files.push(argv[i]);
    }
    if (!options.table || (!options.missing && (options.files.length !== 1 || !options.out))) {
        console.error("usage: diagram-text.mjs --table zh.json --out FILE DIAGRAM.svg|.dot\n" +
                      "       diagram-text.mjs --table zh.json --missing DIAGRAM...");
        return 2;
    }
    const table = loadTable(options.table);
    if (options.missing) {
        // A skeleton to paste into the table: the labels still wanting Chinese.
        const skeleton = {};
        for (const file of options.files) {
            const name = path.basename(file).replace(/\.(svg|dot)$/, "");
            const missing = missingLabels(table, name, fs.readFileSync(file, "utf8"), file);
            if (missing.length) skeleton[name] = Object.fromEntries(missing.map((k) => [k, ""]));
        }
        console.log(JSON.stringify(skeleton, null, 4));
        return 0;
    }
    const file = options.files[0];
    const name = path.basename(file).replace(/\.(svg|dot)$/, "");
    let result;
    try {
        result = translate(table, name, fs.readFileSync(file, "utf8"), file);
    } catch (error) {
        console.error(`diagram-text: ${error.message}`);
        return 1;
    }
    for (const key of result.missing)
        console.error(`diagram-text: ${file}: warning: no Chinese for ${JSON.stringify(key)} in ` +
                      `${options.table} (left in English; make test fails)`);
    fs.mkdirSync(path.dirname(options.out), { recursive: true });
    fs.writeFileSync(options.out, result.text);
    return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
    process.exitCode = main(process.argv.slice(2));
