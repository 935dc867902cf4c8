// The browser test must fail on a bad deck: a deck made to overflow, with a
// line too wide for its code block, an image that does not load, a character
// no font has, and the wrong number of slides.  Needs Chromium (skipped without it).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const SLIDES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

test("check-decks reports overflow, clipped code, a broken image, a missing glyph and a wrong slide count",
     { timeout: 120_000 }, (t) => {
    if (!fs.existsSync(CHROMIUM)) return t.skip(`no Chromium at ${CHROMIUM}`);
    const build = fs.mkdtempSync(path.join(os.tmpdir(), "forklab-check-test-"));
    try {
        const md = path.join(build, "md", "bad", "deck.md");
        fs.mkdirSync(path.dirname(md), { recursive: true });
        fs.mkdirSync(path.join(build, "bad"));
        const bullets = Array.from({ length: 30 }, (_, i) => `- line ${i + 1} of too many`);
        fs.writeFileSync(md, ["---", "marp: true", "theme: forklab", "---", "", "## Too long 僵尸进程 \ue000", "",
                              ...bullets, "", "---", "", "## Too wide", "", '<div style="width: 300px">', "",
                              "```text", "x".repeat(50), "```", "", "</div>", "",
                              "![broken](data:image/svg+xml;base64,PHN2Zz4=)", ""].join("\n"));
        const marp = spawnSync(path.join(SLIDES, "node_modules", ".bin", "marp"),
                               ["--no-config-file", "--theme-set", path.join(SLIDES, "theme", "forklab.css"),
                                "--html", "--engine", path.join(SLIDES, "tools", "marp-engine.cjs"),
                                "-o", path.join(build, "bad", "deck.html"), md], { encoding: "utf8" });
        assert.equal(marp.status, 0, marp.stderr);
        // The Markdown now says three slides; the HTML has two.
        fs.appendFileSync(md, "\n---\n\n## Third\n");
        const run = spawnSync(process.execPath, [path.join(SLIDES, "tools", "check-decks.mjs"),
                                                 "--chromium", CHROMIUM, "--build", build, "bad"],
                              { encoding: "utf8", timeout: 110_000 });
        const output = run.stdout + run.stderr;
        assert.equal(run.status, 1, output);
        assert.match(output, /bad\/deck: 2 slides, but its Markdown has 3 sections/);
        assert.match(output, /bad\/deck: slide 1: text "line \d+ of too many" overflows the slide/);
        assert.match(output, /bad\/deck: slide 2: text "x+" is cut off by its pre/);
        assert.match(output, /bad\/deck: slide 2: image 1 \(broken\) did not load/);
        // U+E000 (private use): no font has it.  The Chinese of the decks has glyphs.
        assert.match(output, /bad\/deck: slide 1: no glyph in the page's fonts \(drawn as a box\): \S U\+E000$/m);
        assert.ok(fs.existsSync(path.join(build, "png", "bad", "deck", "002.png")), "no PNG of slide 2");
        assert.match(output, /0 passed, 1 failed/);
    } finally {
        fs.rmSync(build, { recursive: true, force: true });
    }
});
