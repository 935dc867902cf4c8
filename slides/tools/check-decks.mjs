#!/usr/bin/env node
// check-decks.mjs -- the browser test of the rendered decks (`make test`).
//
//   node tools/check-decks.mjs [--chromium PATH] [--build DIR] AUDIENCE...
//
// Opens every build/AUDIENCE/*.html in headless Chromium (Debian's, never a
// downloaded one) and checks, slide by slide:
//   * the deck has as many slides as its Markdown has sections;
//   * every image has loaded (naturalWidth > 0), and no text inside an SVG
//     diagram is drawn smaller than MIN_DIAGRAM_PX;
//   * nothing overflows: every piece of text and every image lies inside the
//     slide's content box (give or take PADDING_SLACK px; header and footer
//     only have to stay on the page) and inside any box that clips it (a code
//     block too wide for the slide is clipped by its <pre>: reported);
//   * no text is set smaller than MIN_TEXT_PX;
//   * every character has a glyph in the fonts the page has (a Chinese deck
//     without a CJK font shows boxes): drawn on a canvas in the element's
//     font, a character must not look like the missing-glyph box that an
//     unassigned code point (MISSING_SENTINEL) draws;
//   * the page made no request outside the file itself, and logged no error.
// With --decks DIR --diagrams DIR (the sources), the Chinese diagrams too:
//   * every diagram a decks/*.zh.md shows has Chinese for each of its English
//     labels in diagrams/zh.json (the rule is tools/diagram-text.mjs's), and
//     the table has no entry that matches no label; a diagram the table lists
//     as "untranslated" is only noted (--labels-only: this check alone, no
//     browser, `make diagram-labels`);
//   * each Chinese label of a hand-drawn diagram fits where its English one
//     did: inside the smallest <rect> that held the English label, or, for a
//     label on its own, no wider than the English plus one character.
// It saves build/png/AUDIENCE/DECK/NNN.png for every slide, checks that the
// PDF next to each HTML has the same number of pages, and exits 1 with the
// list of problems, or 0.  The browser runs with a fresh profile in a
// temporary folder and is gone when the script ends.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import zlib from "node:zlib";
import puppeteer from "puppeteer-core";
import { countSlides, fenceAfter } from "./build-deck.mjs";
import { englishLeft, loadTable, missingLabels, translate, unusedEntries } from "./diagram-text.mjs";

export const MIN_TEXT_PX = 18;
export const MIN_DIAGRAM_PX = 15;
// How far (px) content may reach into the slide's padding before it counts
// as overflowing: the padding is where the page number and footer go.
export const PADDING_SLACK = 4;
const SLIDE = { width: 1280, height: 720 };
// An unassigned code point: no font has it, so it draws the missing-glyph box.
export const MISSING_SENTINEL = "\u0378";
// The whole run's limit grows with the decks (each language adds a set): a
// minute to start, and 15 s per deck, several times what one takes on two
// busy cores.
const deadlineMs = (decks) => 60_000 + 15_000 * decks;

const CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
    "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
    "--disable-dev-shm-usage", "--font-render-hinting=none",
    // Two tabs render at once: neither may be throttled as a background tab.
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
];

function parseArgs(argv) {
    const options = { chromium: "/usr/bin/chromium", build: "build", audiences: [] };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--chromium") options.chromium = argv[++i];
        else if (argv[i] === "--build") options.build = argv[++i];
        else if (argv[i] === "--decks") options.decks = argv[++i];
        else if (argv[i] === "--diagrams") options.diagrams = argv[++i];
        else if (argv[i] === "--labels-only") options.labelsOnly = true;
        else options.audiences.push(argv[i]);
    }
    if (options.audiences.length === 0) options.audiences = ["instructor", "student"];
    return options;
}

// The diagrams the Chinese decks show: {name: [deck, ...]}.
export function zhDiagrams(decksDir) {
    const used = {};
    for (const deck of fs.readdirSync(decksDir).filter((f) => f.endsWith(".zh.md")).sort()) {
        let fence = null;
        for (const line of fs.readFileSync(path.join(decksDir, deck), "utf8").split("\n")) {
            const wasOpen = fence !== null;
            fence = fenceAfter(fence, line);
            const m = !wasOpen && fence === null ? /^@diagram\s+(\S+)/.exec(line) : null;
            if (m) (used[m[1]] ??= []).includes(deck) || used[m[1]].push(deck);
        }
    }
    return used;
}

// The Chinese labels of the diagrams the Chinese decks show: {problems, notes}.
export function diagramLabelProblems(decksDir, diagramsDir) {
    const problems = [];
    const notes = [];
    const tableFile = path.join(diagramsDir, "zh.json");
    const table = loadTable(tableFile);
    const sources = {};
    for (const file of fs.readdirSync(diagramsDir)) {
        const m = /^(.+)\.(svg|dot)$/.exec(file);
        if (m && !m[1].endsWith(".zh"))
            sources[m[1]] = { file, source: fs.readFileSync(path.join(diagramsDir, file), "utf8") };
    }
    for (const [name, decks] of Object.entries(zhDiagrams(decksDir))) {
        const what = `diagram ${name} (${decks.join(", ")})`;
        const given = path.join(diagramsDir, `${name}.zh.svg`);
        if (fs.existsSync(given)) {
            for (const key of englishLeft(fs.readFileSync(given, "utf8"), given, table.code))
                problems.push(`${what}: English label ${JSON.stringify(key)} in ${given}`);
        } else if (name in table.untranslated) {
            notes.push(`${what}: stays English here: ${table.untranslated[name]}`);
        } else if (!(name in sources)) {
            problems.push(`${what}: no ${path.join(diagramsDir, name)}.svg or .dot`);
        } else {
            const { source, file } = sources[name];
            for (const key of missingLabels(table, name, source, file))
                problems.push(`${what}: English label ${JSON.stringify(key)} has no Chinese in ${tableFile}`);
            try {
                translate(table, name, source, file);
            } catch (error) {
                problems.push(`${what}: ${error.message}`);
            }
        }
    }
    for (const entry of unusedEntries(table, sources))
        problems.push(`${tableFile}: an entry that matches no label: ${entry}`);
    return { problems, notes };
}

// Runs in a page holding an English and a Chinese edition of one diagram:
// the Chinese labels that do not fit where the English ones were.
function inspectFit() {
    const [en, zh] = [...document.querySelectorAll("svg")].filter((s) => s.parentElement === document.body);
    const problems = [];
    const texts = (svg) => [...svg.querySelectorAll("text")];
    const [enTexts, zhTexts] = [texts(en), texts(zh)];
    if (enTexts.length !== zhTexts.length) return [`${enTexts.length} texts in English, ${zhTexts.length} in Chinese`];
    const rects = [...en.querySelectorAll("rect")].map((r) => r.getBBox())
        .sort((a, b) => a.width * a.height - b.width * b.height);
    const inside = (b, r, slack) => b.x >= r.x - slack && b.y >= r.y - slack &&
        b.x + b.width <= r.x + r.width + slack && b.y + b.height <= r.y + r.height + slack;
    const label = (t) => JSON.stringify(t.textContent.trim().slice(0, 40));
    enTexts.forEach((e, i) => {
        const z = zhTexts[i];
        if (e.textContent === z.textContent) return;
        const [eb, zb] = [e.getBBox(), z.getBBox()];
        const box = rects.find((r) => inside(eb, r, 1));
        if (box) {
            if (!inside(zb, box, 1))
                problems.push(`${label(z)} sticks out of the box that holds ${label(e)}`);
        } else {
            const size = parseFloat(getComputedStyle(z).fontSize);
            if (zb.width > eb.width + size)
                problems.push(`${label(z)} is ${Math.round(zb.width - eb.width)} units wider than ${label(e)} ` +
                              `(a label on its own may grow by one character at most)`);
        }
    });
    return problems;
}

async function checkFit(browser, enSvg, zhSvg) {
    const page = await browser.newPage();
    try {
        await page.setViewport({ width: 1600, height: 1200, deviceScaleFactor: 1 });
        await page.setContent(`<!DOCTYPE html><html><body style="margin:0">${enSvg}${zhSvg}</body></html>`,
                              { waitUntil: "load" });
        await page.evaluate(() => document.fonts.ready);
        return await page.evaluate(inspectFit);
    } finally {
        await page.close();
    }
}

// Runs in the page: what is wrong with the active slide (Marp's <section>).
function inspectSlide({ index, minText, minDiagram, slideWidth, PADDING_SLACK, sentinel }) {
    const problems = [];
    // Whether ch has a glyph in font (a CSS font shorthand): drawn alone on a
    // canvas, it must differ from the sentinel's missing-glyph box.  Cached
    // per page, across slides.
    const glyphs = (window.__forklabGlyphs ??= { canvas: document.createElement("canvas"), seen: new Map() });
    const pixels = (font, ch) => {
        const c = glyphs.canvas;
        c.width = 64; c.height = 64;
        const g = c.getContext("2d", { willReadFrequently: true });
        g.font = font;
        g.textBaseline = "middle";
        g.fillText(ch, 8, 32);
        return g.getImageData(0, 0, 64, 64).data.join(",");
    };
    const hasGlyph = (family, ch) => {
        const key = `${family}\u0000${ch}`;
        if (!glyphs.seen.has(key)) {
            const font = `40px ${family}`;
            glyphs.seen.set(key, pixels(font, ch) !== pixels(font, sentinel));
        }
        return glyphs.seen.get(key);
    };
    const missing = new Set();
    const svgs = [...document.querySelectorAll("svg[data-marpit-svg]")];
    const section = svgs[index].querySelector("foreignObject > section");
    const box = section.getBoundingClientRect();
    const scale = box.width / slideWidth;
    const style = getComputedStyle(section);
    // Content may reach into the padding by at most PADDING_SLACK px.
    const inset = (name) => Math.max(0, (parseFloat(style[name]) || 0) - PADDING_SLACK) * scale;
    const allowed = { left: box.left + inset("paddingLeft"), right: box.right - inset("paddingRight"),
                      top: box.top + inset("paddingTop"), bottom: box.bottom - inset("paddingBottom") };
    const tolerance = 1.5;
    const outside = (r, b) => r.left < b.left - tolerance || r.right > b.right + tolerance ||
                              r.top < b.top - tolerance || r.bottom > b.bottom + tolerance;
    const describe = (el) => el.tagName.toLowerCase() + (el.className && typeof el.className === "string"
        ? `.${el.className.trim().split(/\s+/).join(".")}` : "");
    // The boxes that clip el: every ancestor below the section that hides overflow.
    const clippers = (el) => {
        const found = [];
        for (let a = el.parentElement; a && a !== section; a = a.parentElement) {
            const s = getComputedStyle(a);
            if (s.overflowX !== "visible" || s.overflowY !== "visible") found.push(a);
        }
        return found;
    };
    // Header and footer live in the padding by design: they only must stay on the page.
    const margins = (el) => el.closest("header, footer") !== null;
    const checkRect = (rect, el, what) => {
        if (rect.width === 0 && rect.height === 0) return false;
        const limit = margins(el) ? box : allowed;
        if (outside(rect, limit)) {
            const dx = Math.max(limit.left - rect.left, rect.right - limit.right, 0);
            const dy = Math.max(limit.top - rect.top, rect.bottom - limit.bottom, 0);
            problems.push(`${what} overflows the slide by ${Math.round(Math.max(dx, dy) / scale)} px`);
            return true;
        }
        for (const clip of clippers(el)) {
            const c = clip.getBoundingClientRect();
            const inner = { left: c.left + clip.clientLeft, top: c.top + clip.clientTop,
                            right: c.left + clip.clientLeft + clip.clientWidth,
                            bottom: c.top + clip.clientTop + clip.clientHeight };
            if (outside(rect, inner)) {
                problems.push(`${what} is cut off by its ${describe(clip)}`);
                return true;
            }
        }
        return false;
    };
    const walker = document.createTreeWalker(section, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    const small = new Set();
    let overflowReported = 0;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent.trim()) continue;
        const el = node.parentElement;
        const size = parseFloat(getComputedStyle(el).fontSize);
        if (size < minText) small.add(`${describe(el)} ${size}px`);
        const family = getComputedStyle(el).fontFamily;
        for (const ch of node.textContent) {
            if (/[\s\u200b-\u200f\ufeff]/u.test(ch) || missing.has(ch)) continue;
            if (!hasGlyph(family, ch)) missing.add(ch);
        }
        range.selectNodeContents(node);
        for (const rect of range.getClientRects()) {
            const text = JSON.stringify(node.textContent.trim().slice(0, 40));
            if (overflowReported < 3 && checkRect(rect, el, `text ${text}`)) {
                overflowReported++;
                break;
            }
        }
    }
    for (const item of small) problems.push(`text smaller than ${minText}px: ${item}`);
    if (missing.size)
        problems.push(`no glyph in the page's fonts (drawn as a box): ` +
                      [...missing].slice(0, 10).map((ch) =>
                          `${ch} U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`).join(", "));
    const images = [...section.querySelectorAll("img")];
    const pending = [];
    images.forEach((img, i) => {
        const what = `image ${i + 1} (${(img.alt || "no alt text").slice(0, 50)})`;
        if (!img.complete || img.naturalWidth === 0) {
            problems.push(`${what} did not load`);
            return;
        }
        if (!img.alt) problems.push(`${what} has no alt text`);
        checkRect(img.getBoundingClientRect(), img, what);
        if (img.src.startsWith("data:image/svg+xml;base64,")) pending.push({ img, what });
    });
    // Diagram text: the smallest font-size in the SVG, scaled as it is drawn.
    for (const { img, what } of pending) {
        const doc = new DOMParser().parseFromString(atob(img.src.split(",")[1]), "image/svg+xml");
        const root = doc.documentElement;
        const viewBox = (root.getAttribute("viewBox") || "").trim().split(/[\s,]+/).map(Number);
        const width = viewBox.length === 4 ? viewBox[2] : parseFloat(root.getAttribute("width"));
        const height = viewBox.length === 4 ? viewBox[3] : parseFloat(root.getAttribute("height"));
        // An SVG keeps its aspect ratio inside its box: the tighter side sets the scale.
        const rect = img.getBoundingClientRect();
        const drawn = Math.min(rect.width, height > 0 ? rect.height * width / height : Infinity) / scale;
        let smallest = Infinity;
        for (const t of doc.querySelectorAll("text, tspan")) {
            if (!t.textContent.trim()) continue;
            for (let e = t; e && e.nodeType === 1; e = e.parentNode) {
                const own = e.getAttribute("font-size") ||
                    (/font-size:\s*([\d.]+)/.exec(e.getAttribute("style") || "") || [])[1];
                if (own) {
                    smallest = Math.min(smallest, parseFloat(own));
                    break;
                }
            }
        }
        if (Number.isFinite(smallest) && width > 0) {
            const px = smallest * drawn / width;
            if (px < minDiagram)
                problems.push(`${what}: its smallest text is drawn at ${px.toFixed(1)}px ` +
                              `(at least ${minDiagram}px; draw it larger or show it wider)`);
        }
    }
    return problems;
}

// Runs in a page holding one SVG: the text that sticks out of its viewBox.
function inspectSvg() {
    const svg = document.querySelector("svg");
    const problems = [];
    const box = svg.viewBox.baseVal;
    if (!box || box.width === 0) return ["it has no viewBox"];
    for (const text of svg.querySelectorAll("text")) {
        if (!text.textContent.trim()) continue;
        const b = text.getBBox();
        // The transform of the text (Graphviz puts one on its top group).
        const m = text.getCTM();
        const root = svg.getCTM();
        const toRoot = root.inverse().multiply(m);
        const corners = [[b.x, b.y], [b.x + b.width, b.y + b.height]].map(([x, y]) =>
            new DOMPoint(x, y).matrixTransform(toRoot));
        const [x0, x1] = [Math.min(corners[0].x, corners[1].x), Math.max(corners[0].x, corners[1].x)];
        const [y0, y1] = [Math.min(corners[0].y, corners[1].y), Math.max(corners[0].y, corners[1].y)];
        const out = Math.max(box.x - x0, x1 - (box.x + box.width), box.y - y0, y1 - (box.y + box.height));
        if (out > 1) problems.push(`text ${JSON.stringify(text.textContent.trim().slice(0, 40))} ` +
                                   `sticks out of the picture by ${Math.round(out)} units`);
    }
    return problems;
}

async function checkSvg(browser, svgText) {
    const page = await browser.newPage();
    try {
        await page.setViewport({ width: 1600, height: 1200, deviceScaleFactor: 1 });
        await page.setContent(`<!DOCTYPE html><html><body style="margin:0">${svgText}</body></html>`,
                              { waitUntil: "load" });
        await page.evaluate(() => document.fonts.ready);
        return await page.evaluate(inspectSvg);
    } finally {
        await page.close();
    }
}

// Pages of a PDF written by Chromium: its /Type /Page objects, which sit in
// compressed object streams.
export function pdfPages(buffer) {
    const text = buffer.toString("latin1");
    const pages = (s) => (s.match(/\/Type\s*\/Page(?![a-zA-Z])/g) || []).length;
    let count = pages(text);
    const start = /(?<!end)stream\r?\n/g;
    for (let m = start.exec(text); m; m = start.exec(text)) {
        const from = m.index + m[0].length;
        const to = text.indexOf("endstream", from);
        if (to < 0) break;
        try {
            count += pages(zlib.inflateSync(buffer.subarray(from, to)).toString("latin1"));
        } catch {
            // not a Flate stream (an image, a font): no page objects in it
        }
        start.lastIndex = to + "endstream".length;
    }
    return count;
}

async function checkDeck(browser, html, mdFile, pngDir, svgs) {
    const problems = [];
    const expected = countSlides(fs.readFileSync(mdFile, "utf8"));
    const page = await browser.newPage();
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(`script error: ${e.message}`));
    page.on("console", (m) => { if (m.type() === "error") pageErrors.push(`console error: ${m.text()}`); });
    page.on("request", (r) => {
        const url = r.url();
        if (!url.startsWith("file:") && !url.startsWith("data:") && !url.startsWith("about:"))
            pageErrors.push(`request outside the deck: ${url.slice(0, 80)}`);
    });
    page.on("requestfailed", (r) => pageErrors.push(`failed to load ${r.url().slice(0, 80)}`));
    try {
        await page.setViewport({ ...SLIDE, deviceScaleFactor: 1 });
        await page.goto(`${pathToFileURL(html).href}#1`, { waitUntil: "load", timeout: 30_000 });
        await page.evaluate(() => document.fonts.ready);
        await page.addStyleTag({ content: ".bespoke-marp-osc { display: none !important; }" });
        const count = await page.evaluate(() => document.querySelectorAll("svg[data-marpit-svg]").length);
        if (count !== expected)
            problems.push(`${count} slides, but its Markdown has ${expected} sections`);
        fs.rmSync(pngDir, { recursive: true, force: true });
        fs.mkdirSync(pngDir, { recursive: true });
        for (let i = 0; i < count; i++) {
            await page.evaluate((n) => { location.hash = `#${n}`; }, i + 1);
            await page.waitForFunction(
                (n) => document.querySelectorAll("svg[data-marpit-svg]")[n]
                    .classList.contains("bespoke-marp-active"),
                { timeout: 5_000 }, i);
            await page.evaluate(() => Promise.all([...document.images].map((img) => img.decode().catch(() => {}))));
            const found = await page.evaluate(inspectSlide, {
                index: i, minText: MIN_TEXT_PX, minDiagram: MIN_DIAGRAM_PX, slideWidth: SLIDE.width,
                PADDING_SLACK, sentinel: MISSING_SENTINEL,
            });
            for (const p of found) problems.push(`slide ${i + 1}: ${p}`);
            await page.screenshot({ path: path.join(pngDir, `${String(i + 1).padStart(3, "0")}.png`),
                                    optimizeForSpeed: true, captureBeyondViewport: false });
        }
        const sources = await page.evaluate(() => [...document.images].map((img) => img.src)
            .filter((src) => src.startsWith("data:image/svg+xml;base64,")));
        for (const src of sources) svgs.add(src);
    } finally {
        await page.close();
    }
    problems.push(...pageErrors);
    const pdf = html.replace(/\.html$/, ".pdf");
    if (fs.existsSync(pdf)) {
        const pages = pdfPages(fs.readFileSync(pdf));
        if (pages !== expected) problems.push(`its PDF has ${pages} pages, not ${expected}`);
    }
    return { problems, slides: expected };
}

// PIDs of live processes whose command line mentions marker (our profile dir).
function processesWith(marker) {
    const found = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "latin1");
            if (cmdline.includes(marker)) found.push(Number(entry));
        } catch {
            // the process ended while we looked
        }
    }
    return found;
}

async function main(argv) {
    const options = parseArgs(argv);
    let labels = { problems: [], notes: [] };
    if (options.decks || options.labelsOnly) {
        if (!options.decks || !options.diagrams) {
            console.error("check-decks: --decks DIR and --diagrams DIR go together");
            return 2;
        }
        labels = diagramLabelProblems(options.decks, options.diagrams);
        for (const note of labels.notes) console.log(`note ${note}`);
        if (options.labelsOnly) {
            const used = Object.keys(zhDiagrams(options.decks)).length;
            if (labels.problems.length) {
                console.error(`check-decks: ${labels.problems.length} problems with the Chinese diagrams:`);
                for (const p of labels.problems) console.error(`  ${p}`);
                return 1;
            }
            console.log(`check-decks: the ${used} diagrams of the Chinese decks have Chinese for every English label`);
            return 0;
        }
    }
    if (!fs.existsSync(options.chromium)) {
        console.error(`check-decks: no Chromium at ${options.chromium} (Debian: apt-get install chromium)`);
        return 1;
    }
    const decks = [];
    for (const audience of options.audiences) {
        const dir = path.join(options.build, audience);
        const htmls = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".html")).sort() : [];
        if (htmls.length === 0) {
            console.error(`check-decks: no rendered deck in ${dir} (run make html first)`);
            return 1;
        }
        for (const file of htmls) {
            const name = file.replace(/\.html$/, "");
            decks.push({ audience, name, html: path.resolve(dir, file),
                         md: path.join(options.build, "md", audience, `${name}.md`),
                         png: path.join(options.build, "png", audience, name) });
        }
    }
    // One browser per worker, each with a fresh profile under one temporary
    // folder: tabs of one headless browser do not render side by side.
    const profileRoot = fs.mkdtempSync(path.join(os.tmpdir(), "forklab-slides-chromium-"));
    const workers = Math.max(1, Math.min(2, os.cpus().length, decks.length));
    const started = Date.now();
    const browsers = [];
    const killEverything = () => {
        for (const b of browsers) b.process()?.kill("SIGKILL");
        for (const pid of processesWith(profileRoot)) {
            try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
        }
    };
    // However the run ends (Ctrl-C included: puppeteer then exits at once),
    // the profiles go with it.
    process.on("exit", () => fs.rmSync(profileRoot, { recursive: true, force: true }));
    const limit = deadlineMs(decks.length);
    const deadline = setTimeout(() => {
        console.error(`check-decks: still running after ${limit / 1000} s: giving up`);
        killEverything();
        fs.rmSync(profileRoot, { recursive: true, force: true });
        process.exit(1);
    }, limit);
    const failures = [...labels.problems];
    const svgs = new Set(); // every diagram and figure the decks show, as data URIs
    let slides = 0;
    try {
        for (let i = 0; i < workers; i++) {
            browsers.push(await puppeteer.launch({
                executablePath: options.chromium, headless: true,
                userDataDir: path.join(profileRoot, `browser-${i}`),
                args: CHROMIUM_FLAGS, timeout: 30_000, protocolTimeout: 30_000,
            }));
        }
        const queue = [...decks];
        const worker = async (browser) => {
            for (let deck = queue.shift(); deck; deck = queue.shift()) {
                const label = `${deck.audience}/${deck.name}`;
                if (!fs.existsSync(deck.md)) {
                    failures.push(`${label}: no ${deck.md} to count its slides`);
                    continue;
                }
                let problems;
                let n = 0;
                try {
                    ({ problems, slides: n } = await checkDeck(browser, deck.html, deck.md, deck.png, svgs));
                } catch (error) {
                    problems = [`the browser failed: ${error.message.split("\n")[0]}`];
                }
                slides += n;
                for (const p of problems) failures.push(`${label}: ${p}`);
                console.log(`${problems.length ? "FAIL" : "ok  "} ${label}: ${n} slides` +
                            `${problems.length ? `, ${problems.length} problems` : ""}`);
            }
        };
        await Promise.all(browsers.map(worker));
        let diagramProblems = 0;
        for (const src of svgs) {
            const text = Buffer.from(src.split(",")[1], "base64").toString("utf8");
            const title = (/<title[^>]*>([^<]*)<\/title>/.exec(text) || [, "untitled"])[1].trim();
            for (const p of await checkSvg(browsers[0], text)) {
                failures.push(`diagram "${title.slice(0, 60)}": ${p}`);
                diagramProblems++;
            }
        }
        console.log(`${diagramProblems ? "FAIL" : "ok  "} ${svgs.size} diagrams and figures: ` +
                    `${diagramProblems ? `${diagramProblems} problems` : "no text outside its picture"}`);
        if (options.decks) {
            // The Chinese edition of each hand-drawn diagram, against its English one.
            const built = path.join(options.build, "diagrams");
            let fitProblems = 0;
            let compared = 0;
            for (const name of Object.keys(zhDiagrams(options.decks))) {
                const [en, zh] = [`${name}.svg`, `${name}.zh.svg`].map((f) => path.join(built, f));
                if (!fs.existsSync(path.join(options.diagrams, `${name}.svg`)) || !fs.existsSync(zh)) continue;
                compared++;
                for (const p of await checkFit(browsers[0], fs.readFileSync(en, "utf8"), fs.readFileSync(zh, "utf8"))) {
                    failures.push(`diagram ${name}.zh: ${p}`);
                    fitProblems++;
                }
            }
            console.log(`${fitProblems ? "FAIL" : "ok  "} ${compared} Chinese diagrams: ` +
                        `${fitProblems ? `${fitProblems} problems` : "every label fits where its English one was"}`);
        }
    } finally {
        await Promise.all(browsers.map((b) => b.close().catch(() => b.process()?.kill("SIGKILL"))));
        clearTimeout(deadline);
        // Chromium's helpers go with the browser; make sure, by our profile path.
        for (let tries = 0; tries < 50 && processesWith(profileRoot).length; tries++)
            await new Promise((r) => setTimeout(r, 100));
        const left = processesWith(profileRoot);
        killEverything();
        if (left.length) failures.push(`Chromium left ${left.length} processes behind (killed: ${left.join(" ")})`);
        fs.rmSync(profileRoot, { recursive: true, force: true });
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (failures.length) {
        console.error(`\ncheck-decks: ${failures.length} problems:`);
        for (const f of failures) console.error(`  ${f}`);
        const failed = decks.filter((d) => failures.some((f) => f.startsWith(`${d.audience}/${d.name}:`))).length;
        console.log(`${decks.length - failed} passed, ${failed} failed`);
        return 1;
    }
    console.log(`check-decks: ${decks.length} decks, ${slides} slides, PNGs in ` +
                `${path.join(options.build, "png")}/ (${seconds} s)`);
    console.log(`${decks.length} passed, 0 failed`);
    return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
    main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
