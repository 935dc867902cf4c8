// Unit tests of the diagrams' Chinese editions (tools/diagram-text.mjs), the
// check of their labels (check-decks.mjs --labels-only) and the choice of
// edition by the deck build.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

import { DeckBuilder, languageOfDeck } from "../build-deck.mjs";
import { englishWords, loadTable, missingLabels, svgLabels, translate, unusedEntries, withCjkFonts }
    from "../diagram-text.mjs";

const SLIDES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const scratchDirs = [];
after(() => {
    for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
});
function scratchDir() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "forklab-diagram-text-"));
    scratchDirs.push(dir);
    return dir;
}

const table = (labels, extra = {}) => ({ labels, code: new Set(extra.code ?? []),
                                         untranslated: extra.untranslated ?? {} });

const SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 50" font-family="DejaVu Sans, sans-serif">
  <title>A box &amp; B</title>
  <text x="1" y="10">parent</text>
  <text x="1" y="20">count: <tspan font-family="DejaVu Sans Mono, monospace">n &gt; 0</tspan> left</text>
  <g font-family="DejaVu Sans Mono, monospace"><text x="1" y="30">while (waitpid(-1, nullptr, WNOHANG) &gt; 0) {}</text></g>
  <text x="1" y="40">fork() SIGCHLD 127.0.0.1 lab01 sa_flags</text>
</svg>`;

test("the English rule: words are letters; code, acronyms, calls and the code list are not", () => {
    assert.deepEqual(englishWords("the child's close (or _exit) now"), ["the", "child", "close", "or", "now"]);
    assert.deepEqual(englishWords("fork() SIGCHLD EOF LineBuffer lab01 sa_flags lb.data 127.0.0.1 A"), []);
    assert.deepEqual(englishWords("accept, read and connfd", new Set(["accept", "read", "connfd"])), ["and"]);
    assert.deepEqual(englishWords("父进程 accept()"), []);
});

test("labels: the title, each <text> whole with its tspans as {...}, monospace left out of the rule", () => {
    const labels = svgLabels(SVG);
    assert.deepEqual(labels.map((l) => l.key), ["A box & B", "parent", "count: {n > 0} left",
                                                "while (waitpid(-1, nullptr, WNOHANG) > 0) {}",
                                                "fork() SIGCHLD 127.0.0.1 lab01 sa_flags"]);
    // The monospace line and the code-only line need no Chinese.
    assert.deepEqual(missingLabels(table({}), "d", SVG, "d.svg"), ["A box & B", "parent", "count: {n > 0} left"]);
});

test("the Chinese edition: labels replaced, tspans kept in order, CJK fonts added, the rest as it was", () => {
    const t = table({ "*": { parent: "父进程" }, d: { "A box & B": "甲 & 乙", "count: {n > 0} left": "剩余 {n > 0} 个" } });
    const { text, missing } = translate(t, "d", SVG, "d.svg");
    assert.deepEqual(missing, []);
    assert.match(text, /<title>甲 &amp; 乙<\/title>/);
    assert.match(text, /<text x="1" y="10">父进程<\/text>/);
    assert.match(text, /剩余 <tspan font-family="DejaVu Sans Mono, 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', monospace">n &gt; 0<\/tspan> 个/);
    assert.match(text, /<svg xml:lang="zh-CN" xmlns=.* font-family="DejaVu Sans, 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif">/);
    assert.match(text, /WNOHANG\) &gt; 0\) \{\}/);
    // A section's entry wins over "*"; a missing one stays English and is reported.
    const partial = translate(table({ "*": { parent: "父" }, d: { parent: "父进程" } }), "d", SVG, "d.svg");
    assert.match(partial.text, />父进程</);
    assert.deepEqual(partial.missing, ["A box & B", "count: {n > 0} left"]);
    assert.throws(() => translate(table({ d: { "count: {n > 0} left": "剩余" } }), "d", SVG, "d.svg"),
                  /has 0 \{\.\.\.\}, the English 1/);
    assert.equal(withCjkFonts("DejaVu Sans", ""), "DejaVu Sans,Noto Sans CJK SC,WenQuanYi Micro Hei");
});

test("a Graphviz source: the graph's name and its labels, newlines kept, the fonts extended", () => {
    const dot = '// a comment: label="not this"\ndigraph "The life" {\n node [fontname="DejaVu Sans"];\n' +
                ' a [label="zombie\\nstate Z"]; a -> b [label="waitpid()"];\n}\n';
    const t = table({ g: { "The life": "一生", "zombie\nstate Z": "僵尸进程\n状态 Z" } });
    assert.deepEqual(missingLabels(table({}), "g", dot, "g.dot"), ["The life", "zombie\nstate Z"]);
    const { text, missing } = translate(t, "g", dot, "g.dot");
    assert.deepEqual(missing, []);
    assert.match(text, /digraph "一生"/);
    assert.match(text, /label="僵尸进程\\n状态 Z"/);
    assert.match(text, /fontname="DejaVu Sans,Noto Sans CJK SC,WenQuanYi Micro Hei"/);
    assert.match(text, /label="not this"/);
});

test("untranslated diagrams are copied; stale entries are found", () => {
    const t = table({ "*": { parent: "父进程", gone: "无" }, d: { "A box & B": "甲乙" }, nosuch: { x: "y" } },
                    { untranslated: { d: "drawn elsewhere" } });
    assert.equal(translate(t, "d", SVG, "d.svg").text, SVG);
    assert.deepEqual(missingLabels(t, "d", SVG, "d.svg"), []);
    assert.deepEqual(unusedEntries(t, { d: { source: SVG, file: "d.svg" } }),
                     ['*: "gone"', 'section "nosuch": no diagram of that name']);
});

test("the kit's table translates every diagram", () => {
    const kitTable = loadTable(path.join(SLIDES, "diagrams", "zh.json"));
    const dir = path.join(SLIDES, "diagrams");
    for (const file of fs.readdirSync(dir).filter((f) => /\.(svg|dot)$/.test(f))) {
        const name = file.replace(/\.(svg|dot)$/, "");
        // A ready-made Chinese edition (NAME.zh.svg) is checked by check-decks --labels-only.
        if (name.endsWith(".zh") || fs.existsSync(path.join(dir, `${name}.zh.svg`))) continue;
        const source = fs.readFileSync(path.join(SLIDES, "diagrams", file), "utf8");
        const { missing } = translate(kitTable, name, source, file);
        assert.deepEqual(missing, [], `${file}: labels with no Chinese`);
    }
});

test("check-decks --labels-only fails on a label of a Chinese deck's diagram with no Chinese", () => {
    const root = scratchDir();
    const decks = path.join(root, "decks");
    const diagrams = path.join(root, "diagrams");
    fs.mkdirSync(decks);
    fs.mkdirSync(diagrams);
    fs.writeFileSync(path.join(decks, "01-x.zh.md"), "# x\n\n@diagram d w=600\n\n```text\n@diagram fenced\n```\n");
    fs.writeFileSync(path.join(decks, "01-x.md"), "# x\n\n@diagram e\n");
    fs.writeFileSync(path.join(diagrams, "d.svg"), SVG);
    fs.writeFileSync(path.join(diagrams, "e.svg"), '<svg><title>English only</title></svg>');
    const write = (labels) => fs.writeFileSync(path.join(diagrams, "zh.json"), JSON.stringify({ labels, code: [] }));
    const run = () => spawnSync(process.execPath, [path.join(SLIDES, "tools", "check-decks.mjs"), "--labels-only",
                                                   "--decks", decks, "--diagrams", diagrams], { encoding: "utf8" });
    write({ d: { "A box & B": "甲乙", parent: "父进程" } });
    let result = run();
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /diagram d \(01-x\.zh\.md\): English label "count: \{n > 0\} left" has no Chinese/);
    assert.doesNotMatch(result.stderr, /fenced|English only/);
    write({ d: { "A box & B": "甲乙", parent: "父进程", "count: {n > 0} left": "剩 {n > 0}", old: "旧" } });
    result = run();
    assert.equal(result.status, 1);
    assert.match(result.stderr, /an entry that matches no label: d: "old"/);
    write({ d: { "A box & B": "甲乙", parent: "父进程", "count: {n > 0} left": "剩 {n > 0}" } });
    result = run();
    assert.equal(result.status, 0, result.stdout + result.stderr);
});

test("a Chinese deck shows the .zh edition of a diagram", () => {
    const dir = scratchDir();
    fs.writeFileSync(path.join(dir, "box.svg"), "<svg><title>A box</title></svg>");
    fs.writeFileSync(path.join(dir, "box.zh.svg"), "<svg><title>一个盒子</title></svg>");
    const build = (name, lang) => new DeckBuilder({ variant: "student", kitRoot: dir, diagramsDir: dir,
                                                    figuresSource: path.join(dir, "none.json"), lang })
        .build("# t\n\n@diagram box\n", name);
    assert.equal(languageOfDeck("01-wrap.zh.md"), "zh");
    assert.equal(languageOfDeck("01-wrap.md"), "en");
    assert.match(build("d.zh.md"), /!\[一个盒子\]/);
    assert.match(build("d.md"), /!\[A box\]/);
    assert.match(build("d.md", "zh"), /!\[一个盒子\]/);
    fs.rmSync(path.join(dir, "box.zh.svg"));
    assert.throws(() => build("d.zh.md"), /@diagram box: no .*box\.zh\.svg/);
});
