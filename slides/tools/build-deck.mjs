#!/usr/bin/env node
// build-deck.mjs -- turn one deck source (decks/NN-name.md) into the Markdown
// that Marp renders, for one audience:
//
//   node tools/build-deck.mjs --variant instructor|student --kit ROOT \
//        --diagrams DIR --figures DIR --out FILE.md [--deps FILE.d] [--lang en|zh] DECK.md
//
// A Chinese deck (DECK named *.zh.md, or --lang zh) shows the Chinese edition
// of each diagram, DIR/NAME.zh.svg (tools/diagram-text.mjs writes it from the
// same source; see the Makefile); the others show DIR/NAME.svg.
//
// Directives, each alone on a line outside code fences (see README.md):
//   @code FILE ANCHOR [with-comment] [elide=RANGE] [student=stub|excerpt|hidden]
//   @diagram NAME [w=PIXELS]
//   @figure NAME [w=PIXELS]
//   @only instructor|student   ...   @end
// HTML comments that are not Marp directives are speaker notes: kept for
// instructors, removed for students.
//
// Student decks never show a solution region of the kit whole, nor more than
// MAX_EXCERPT consecutive significant lines of one; the build fails otherwise.
// Every error names the deck and line, and the build writes nothing then.

import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
    DeckError, dedent, handoutText, kitFiles, parseRange, referenceText, regionsOf,
    selectAnchor, splitLines, withComment,
} from "./kit-code.mjs";
import { figureSvg } from "./figures.mjs";

export const MAX_EXCERPT = 5;

const LANGUAGES = { ".cpp": "cpp", ".h": "cpp", ".py": "python", ".sh": "bash", ".mk": "makefile",
                    ".md": "markdown", ".json": "json" };

const MARP_DIRECTIVES = new Set([
    "marp", "theme", "style", "headingDivider", "size", "math", "title", "description", "author",
    "image", "keywords", "url", "lang", "paginate", "header", "footer", "class", "color",
    "backgroundColor", "backgroundImage", "backgroundPosition", "backgroundRepeat",
    "backgroundSize", "transition", "fit",
]);

// Split a directive's arguments: words, key=value, key="quoted value", and
// key=/regex/../regex/ or key=/regex/+N, where a regex may hold spaces (and
// writes a slash as \/).
const REGEX = String.raw`\/(?:[^/\\]|\\.)*\/`;
const TOKEN = new RegExp(String.raw`\s*(?:([\w-]+)=(${REGEX}(?:\.\.${REGEX}|\+\d+)?|"(?:[^"\\]|\\.)*"|\S+)|(\S+))`, "g");

function tokens(text) {
    const out = [];
    TOKEN.lastIndex = 0;
    let match;
    while ((match = TOKEN.exec(text)) !== null && match[0].trim()) {
        if (match[1] !== undefined) {
            const value = match[2].startsWith('"') ? JSON.parse(match[2]) : match[2];
            out.push({ key: match[1], value });
        } else out.push({ word: match[3] });
    }
    return out;
}

// The font size for a block of code: 21px when it fits, smaller (never
// under 18px) for lines up to the kit's 100 columns or for long blocks.
export function codeSize(lines) {
    const widest = Math.max(0, ...lines.map((l) => l.length));
    if (widest <= 84 && lines.length <= 17) return "code-l";
    if (widest <= 92 && lines.length <= 20) return "code-m";
    return "code-s";
}

function languageOf(file) {
    if (path.basename(file) === "Makefile") return "makefile";
    return LANGUAGES[path.extname(file)] ?? "";
}

// A fence long enough for the code it holds.
function fence(lines) {
    let longest = 2;
    for (const line of lines) {
        const run = /^\s*(`{3,})/.exec(line);
        if (run) longest = Math.max(longest, run[1].length);
    }
    return "`".repeat(longest + 1);
}

// Is this HTML comment a Marp directive (kept for everyone) rather than a note?
function isMarpDirective(body) {
    const lines = body.trim().split("\n").map((l) => l.trim()).filter(Boolean);
    return lines.length > 0 && lines.every((l) => {
        const key = /^_?([A-Za-z]+)\s*(:|$)/.exec(l);
        return key !== null && MARP_DIRECTIVES.has(key[1]);
    });
}

// A line that counts when comparing code: trimmed, spaces collapsed; blank
// lines, lone punctuation and comment-only lines do not count.
export function significant(line) {
    const text = line.trim().replace(/\s+/g, " ");
    if (!text || /^[{}()[\];,]*$/.test(text)) return null;
    if (/^(\/\/|\/\*|\*|#(\s|$)|<!--)/.test(text)) return null;
    return text;
}

// Longest run of consecutive lines of region that appear consecutively in block.
export function longestRun(block, region) {
    let best = 0;
    let previous = new Array(region.length + 1).fill(0);
    for (let i = 1; i <= block.length; i++) {
        const current = new Array(region.length + 1).fill(0);
        for (let j = 1; j <= region.length; j++) {
            if (block[i - 1] === region[j - 1]) {
                current[j] = previous[j - 1] + 1;
                best = Math.max(best, current[j]);
            }
        }
        previous = current;
    }
    return best;
}

// The solution (and hidden) regions of the kit, as significant lines.
export function kitRegions(kitRoot) {
    const regions = [];
    const rels = kitFiles(kitRoot).map((file) => path.relative(kitRoot, file));
    for (const [rel, fileRegions] of Object.entries(regionsOf(kitRoot, rels))) {
        for (const region of fileRegions) {
            const lines = region.body.map(significant).filter((l) => l !== null);
            if (lines.length > 0)
                regions.push({ where: `${rel}:${region.begin}-${region.end}`, kind: region.kind, lines });
        }
    }
    return regions;
}

// Slides in Marp Markdown: horizontal rules (after a blank line, outside
// code fences and the front matter) plus one.  A "---" right under a line of
// text is a heading underline in Markdown, not a new slide, and is not counted.
export function countSlides(text) {
    const lines = splitLines(text);
    let i = 0;
    if (lines[0] === "---") {
        i = lines.indexOf("---", 1) + 1;
        if (i === 0) return 0;
    }
    let count = 1;
    let fence = null;
    for (let previous = ""; i < lines.length; previous = lines[i], i++) {
        const line = lines[i];
        const wasOpen = fence !== null;
        fence = fenceAfter(fence, line);
        if (!wasOpen && fence === null && /^ {0,3}(-{3,}|\*{3,}|_{3,})\s*$/.test(line) && !previous.trim())
            count++;
    }
    return count;
}

// The code fence open after `line`, given the one open before it (null:
// none).  CommonMark's rule: a block opens at ``` or ~~~ (an info string may
// follow) and closes at a bare line of the same character, at least as long.
export function fenceAfter(open, line) {
    if (open === null) return /^\s*(`{3,}|~{3,})/.exec(line)?.[1] ?? null;
    const closing = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
    return closing && closing[1][0] === open[0] && closing[1].length >= open.length ? null : open;
}

// Fenced code blocks of a Markdown text: [{line (1-based), lines}].
export function codeBlocks(text) {
    const blocks = [];
    let open = null; // {fence, line, lines}
    splitLines(text).forEach((line, index) => {
        const fence = fenceAfter(open?.fence ?? null, line);
        if (open === null && fence !== null) open = { fence, line: index + 1, lines: [] };
        else if (open !== null && fence === null) {
            blocks.push(open);
            open = null;
        } else if (open !== null) open.lines.push(line);
    });
    return blocks;
}

// Problems of a student deck: solution code it shows whole or beyond an excerpt.
export function leaks(text, regions, deckName) {
    const problems = [];
    for (const block of codeBlocks(text)) {
        const lines = block.lines.map(significant).filter((l) => l !== null);
        for (const region of regions) {
            const run = longestRun(lines, region.lines);
            const whole = region.lines.length >= 2 && run === region.lines.length;
            if (whole || run > MAX_EXCERPT) {
                problems.push(`${deckName} (student): the code block at line ${block.line} of the ` +
                              `rendered Markdown shows ${whole ? "the whole" : `${run} lines of the`} ` +
                              `${region.kind} region ${region.where} ` +
                              `(students may see at most ${MAX_EXCERPT} consecutive lines, never a ` +
                              `whole region)`);
            }
        }
    }
    return problems;
}

export class DeckBuilder {
    // lang: "en" or "zh"; left out, each deck's own, from its name (*.zh.md).
    constructor({ variant, kitRoot, diagramsDir, figuresSource, lang }) {
        if (!["instructor", "student"].includes(variant))
            throw new DeckError(`unknown variant ${variant}: instructor or student`);
        if (lang !== undefined && !["en", "zh"].includes(lang))
            throw new DeckError(`unknown language ${lang}: en or zh`);
        this.lang = lang;
        this.variant = variant;
        this.kitRoot = kitRoot;
        this.diagramsDir = diagramsDir;
        this.figuresSource = figuresSource;
        this.deps = new Set();
        this.warnings = [];
    }

    // The Markdown for Marp, or a DeckError listing every problem of the deck.
    build(source, deckName) {
        this.deckLang = this.lang ?? languageOfDeck(deckName);
        const errors = [];
        const out = [];
        const lines = splitLines(source);
        let fenceOpen = null;
        let only = null; // {audience, line}
        let comment = null; // lines of an HTML comment being collected
        lines.forEach((line, index) => {
            const where = `${deckName}:${index + 1}`;
            if (comment === null) fenceOpen = fenceAfter(fenceOpen, line);
            const skipping = only !== null && only.audience !== this.variant;
            if (fenceOpen === null && comment === null) {
                const directive = /^@(\w+)\s*(.*)$/.exec(line);
                if (directive && skipping && !["only", "end"].includes(directive[1])) return;
                if (directive) {
                    try {
                        const result = this.directive(directive[1], directive[2], only, where);
                        if (result.only !== undefined) only = result.only;
                        if (!skipping && result.text !== undefined) out.push(result.text);
                    } catch (error) {
                        if (!(error instanceof DeckError)) throw error;
                        errors.push(`${where}: ${error.message}`);
                    }
                    return;
                }
                if (/^\s*<!--/.test(line)) comment = [];
            }
            if (comment !== null) {
                comment.push(line);
                if (/-->\s*$/.test(line)) {
                    const body = comment.join("\n").replace(/^\s*<!--/, "").replace(/-->\s*$/, "");
                    if (!skipping && (this.variant === "instructor" || isMarpDirective(body)))
                        out.push(...comment);
                    comment = null;
                }
                return;
            }
            if (!skipping) out.push(line);
        });
        if (fenceOpen !== null) errors.push(`${deckName}: a code fence is never closed`);
        if (comment !== null) errors.push(`${deckName}: an HTML comment is never closed`);
        if (only !== null) errors.push(`${deckName}:${only.line}: @only without @end`);
        const text = out.join("\n") + "\n";
        if (errors.length === 0 && this.variant === "student")
            errors.push(...leaks(text, kitRegions(this.kitRoot), deckName));
        if (errors.length > 0) throw new DeckError(errors.join("\n"));
        return text;
    }

    directive(name, args, only, where) {
        const line = Number(where.split(":").pop());
        switch (name) {
        case "only": {
            const audience = args.trim();
            if (only !== null) throw new DeckError(`@only inside the @only of line ${only.line}`);
            if (!["instructor", "student"].includes(audience))
                throw new DeckError(`@only ${audience}: say instructor or student`);
            return { only: { audience, line } };
        }
        case "end":
            if (only === null) throw new DeckError("@end without @only");
            return { only: null };
        case "code":
            return { text: this.code(tokens(args)) };
        case "diagram":
            return { text: this.diagram(tokens(args)) };
        case "figure":
            return { text: this.figure(tokens(args)) };
        default:
            throw new DeckError(`unknown directive @${name} (@code, @diagram, @figure, @only, @end)`);
        }
    }

    code(args) {
        const [fileToken, anchorToken, ...rest] = args;
        if (!fileToken?.word || !anchorToken)
            throw new DeckError("@code FILE ANCHOR: FILE and ANCHOR are required");
        const rel = fileToken.word;
        const file = path.join(this.kitRoot, rel);
        if (!fs.existsSync(file)) throw new DeckError(`@code ${rel}: no such file in the kit`);
        this.deps.add(file);
        const anchor = this.anchor(anchorToken);
        const options = { withComment: false, elide: [], student: "stub", narrow: null };
        for (const token of rest) {
            if (token.word === "with-comment") options.withComment = true;
            else if (token.key === "lines" && anchor.kind !== "lines") options.narrow = parseRange(token.value);
            else if (token.key === "elide") options.elide.push(parseRange(token.value));
            else if (token.key === "student" && ["stub", "excerpt", "hidden"].includes(token.value))
                options.student = token.value;
            else throw new DeckError(`@code: unknown option ${token.word ?? `${token.key}=${token.value}`}`);
        }
        const studentView = this.variant === "student";
        if (studentView && options.student === "hidden")
            return `\n<div class="src hidden-code">You write this part of <code>${rel}</code>: ` +
                   `your handout has a stub here.</div>\n`;
        const text = studentView && options.student === "stub" ? handoutText(this.kitRoot, rel)
                                                                : referenceText(this.kitRoot, rel);
        let span = selectAnchor(text, anchor);
        if (span === null) {
            const view = studentView && options.student === "stub" ? "the handout's" : "";
            const hint = studentView && options.student === "stub" &&
                selectAnchor(referenceText(this.kitRoot, rel), anchor) !== null
                ? " (it is solution code: add student=excerpt for a short range, or student=hidden)"
                : "";
            throw new DeckError(`@code: ${anchorToken.key ?? anchorToken.word}` +
                                `${anchorToken.value ? `=${anchorToken.value}` : ""} not found in ` +
                                `${view ? `${view} ` : ""}${rel}${hint}`);
        }
        if (options.narrow) {
            // lines=RANGE after a function or decl anchor: a range inside it.
            const inside = splitLines(text).slice(span[0], span[1] + 1).join("\n");
            const sub = selectAnchor(inside, { kind: "lines", range: options.narrow });
            if (sub === null)
                throw new DeckError(`@code: lines=${options.narrow.start}… not found inside ` +
                                    `${anchor.name} in ${rel}`);
            span = [span[0] + sub[0], span[0] + sub[1]];
        }
        if (options.withComment) span = withComment(text, span);
        let lines = splitLines(text).slice(span[0], span[1] + 1);
        for (const range of options.elide) lines = this.elide(lines, range);
        // A range that ends on the brace closing a block opened above it:
        // drop that brace, which would otherwise spoil the indentation.
        const indentOf = (l) => /^ */.exec(l)[0].length;
        while (lines.length > 1 && /^\s*\}\s*$/.test(lines[lines.length - 1]) &&
               indentOf(lines[lines.length - 1]) < indentOf(lines.find((l) => l.trim()) ?? ""))
            lines.pop();
        lines = dedent(lines);
        const label = anchor.kind === "function" || anchor.kind === "decl" ? ` · <code>${anchor.name}</code>` : "";
        const f = fence(lines);
        // The block sits in a <div> that sets its font size from its widest
        // line and its length (theme: .code-l .code-m .code-s).  Blank lines
        // around the fence: an HTML block would otherwise swallow it.
        return ["", `<div class="${codeSize(lines)}">`, "", `${f}${languageOf(rel)}`, ...lines, f, "",
                "</div>", "", `<div class="src">${rel}${label}</div>`, ""].join("\n");
    }

    anchor(token) {
        if (token.word === "whole") return { kind: "whole" };
        if (token.key === "function" || token.key === "decl") return { kind: token.key, name: token.value };
        if (token.key === "lines") return { kind: "lines", range: parseRange(token.value) };
        throw new DeckError(`@code: bad anchor ${token.word ?? token.key} ` +
                            "(function=NAME, decl=NAME, lines=/A/../B/, lines=/A/+N, whole)");
    }

    // Replace the lines of range by one "// ..." line at their indentation.
    elide(lines, range) {
        const start = lines.findIndex((l) => range.start.test(l));
        let end = -1;
        if (start >= 0) {
            end = range.end ? lines.findIndex((l, i) => i > start && range.end.test(l))
                            : start + range.count;
        }
        if (start < 0 || end < 0 || end >= lines.length)
            throw new DeckError(`@code: elide=${range.start}… matches nothing in the selected lines`);
        const firstText = lines.slice(start, end + 1).find((l) => l.trim()) ?? "";
        const indent = /^ */.exec(firstText)[0];
        return [...lines.slice(0, start), `${indent}// …`, ...lines.slice(end + 1)];
    }

    image(name, svg, args, kind) {
        let width = null;
        for (const token of args) {
            if (token.key === "w" && /^\d+$/.test(token.value)) width = token.value;
            else throw new DeckError(`@${kind} ${name}: unknown option ${token.word ?? token.key}`);
        }
        const title = /<title[^>]*>([^<]*)<\/title>/.exec(svg);
        if (!title || !title[1].trim())
            throw new DeckError(`@${kind} ${name}: the SVG has no <title> (the slide's alt text)`);
        const alt = title[1].trim().replace(/[[\]]/g, "");
        const data = Buffer.from(svg).toString("base64");
        return `![${alt}${width ? ` w:${width}` : ""}](data:image/svg+xml;base64,${data})`;
    }

    diagram(args) {
        const [nameToken, ...rest] = args;
        if (!nameToken?.word) throw new DeckError("@diagram NAME: NAME is required");
        const edition = this.deckLang === "zh" ? `${nameToken.word}.zh.svg` : `${nameToken.word}.svg`;
        const file = path.join(this.diagramsDir, edition);
        if (!fs.existsSync(file)) {
            throw new DeckError(`@diagram ${nameToken.word}: no ${path.join(this.diagramsDir, edition)} ` +
                                `(from diagrams/${nameToken.word}.svg or .dot${
                                    this.deckLang === "zh" ? ", with diagrams/zh.json" : ""})`);
        }
        this.deps.add(file);
        return this.image(nameToken.word, fs.readFileSync(file, "utf8"), rest, "diagram");
    }

    figure(args) {
        const [nameToken, ...rest] = args;
        if (!nameToken?.word) throw new DeckError("@figure NAME: NAME is required");
        this.deps.add(this.figuresSource);
        const { svg, warning } = figureSvg(nameToken.word, this.figuresSource);
        if (warning) this.warnings.push(warning);
        return this.image(nameToken.word, svg, rest, "figure");
    }
}

// A deck's language, from its file name: NN-name.zh.md is Chinese.
export function languageOfDeck(deckName) {
    return /\.zh\.md$/.test(deckName ?? "") ? "zh" : "en";
}

function parseArgs(argv) {
    const options = {};
    const positional = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i].startsWith("--")) options[argv[i].slice(2)] = argv[++i];
        else positional.push(argv[i]);
    }
    return { options, positional };
}

function main(argv) {
    const { options, positional } = parseArgs(argv);
    if (positional.length !== 1 || !options.variant || !options.out) {
        console.error("usage: build-deck.mjs --variant instructor|student --kit ROOT --diagrams DIR " +
                      "--figures JSON --out FILE.md [--deps FILE.d] [--lang en|zh] DECK.md");
        return 2;
    }
    const deck = positional[0];
    const builder = new DeckBuilder({
        variant: options.variant,
        kitRoot: path.resolve(options.kit ?? ".."),
        diagramsDir: path.resolve(options.diagrams ?? "build/diagrams"),
        figuresSource: path.resolve(options.figures ?? "../bench/results/reference.json"),
        lang: options.lang,
    });
    let text;
    try {
        text = builder.build(fs.readFileSync(deck, "utf8"), deck);
    } catch (error) {
        if (!(error instanceof DeckError)) throw error;
        console.error(error.message.split("\n").map((l) => `build-deck: ${l}`).join("\n"));
        return 1;
    }
    for (const warning of builder.warnings) console.error(`build-deck: ${deck}: warning: ${warning}`);
    fs.mkdirSync(path.dirname(options.out), { recursive: true });
    fs.writeFileSync(options.out, text);
    if (options.deps) {
        // Make: the rendered Markdown depends on every file it pulled in.
        // A missing bench JSON is not a prerequisite (the figure shows a
        // placeholder), so list it only when it exists.
        const deps = [...builder.deps].filter((d) => fs.existsSync(d)).sort();
        const phony = deps.map((d) => `${d}:`).join("\n");
        fs.writeFileSync(options.deps, `${options.out}: ${deps.join(" ")}\n${phony}\n`);
    }
    return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
    process.exitCode = main(process.argv.slice(2));
