// kit-code.mjs -- read code out of the kit's files for the slides.
//
// Two editions of every kit file, both made by tools/markers.py, the kit's
// one reader of the solution markers (the handout uses it too):
//   * instructor: the file as the instructor has it, minus the marker lines
//     (BEGIN/END SOLUTION, BEGIN/END HIDDEN) themselves;
//   * student: what `make handout` gives students -- each SOLUTION region
//     replaced by its stub line, each HIDDEN region removed.
// It runs under $FORKLAB_PYTHON (the slides' Makefile sets it to the kit's
// Python), else python3.
//
// Anchors name a piece of a file in a way that survives edits around it:
//   function=NAME      the definition of NAME, signature to closing brace
//   decl=NAME          the declaration of NAME (a prototype ending in ';')
//   lines=/A/../B/     from the first line matching A to the next matching B
//   lines=/A/+N        the line matching A and the N lines after it
//   whole              the whole file
// `with-comment` adds the comment lines right above the piece.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export class DeckError extends Error {}

export const MARKERS_PROGRAM = fileURLToPath(new URL("../../tools/markers.py", import.meta.url));

// Run tools/markers.py with args in the folder cwd: its output, or a
// DeckError holding what it said is wrong (one line per bad file).
function runMarkers(args, cwd) {
    const python = process.env.FORKLAB_PYTHON || "python3";
    try {
        return execFileSync(python, [MARKERS_PROGRAM, ...args], {
            cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 26,
        });
    } catch (error) {
        const said = (error.stderr ?? "").split("\n").filter((l) => l.trim())
            .map((l) => l.replace(/^markers: /, ""));
        if (error.status > 0 && said.length > 0) throw new DeckError(said.join("\n"));
        throw new DeckError(`cannot run ${python} ${MARKERS_PROGRAM}: ${said[0] ?? error.message}`);
    }
}

// Lines of text, each without its line ending.  A final newline ends the
// last line; it does not start an empty one.
export function splitLines(text) {
    const lines = text.split("\n");
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines;
}

// Editions already asked for, by kit, file and edition: a deck often shows
// several pieces of one file.
const editions = new Map();

// The text of the kit file rel (relative to kitRoot) in one edition:
// "student" or "instructor".  Bad markers: a DeckError naming file and line.
export function editionText(kitRoot, rel, edition) {
    const key = JSON.stringify([path.resolve(kitRoot), rel, edition]);
    if (!editions.has(key)) editions.set(key, runMarkers(["extract", rel, "--edition", edition], kitRoot));
    return editions.get(key);
}

// The file as students get it, and as the instructor has it.
export const handoutText = (kitRoot, rel) => editionText(kitRoot, rel, "student");
export const referenceText = (kitRoot, rel) => editionText(kitRoot, rel, "instructor");

// The regions of kit files (paths relative to kitRoot), in one run of
// tools/markers.py: {rel: [{kind, begin, end (1-based marker lines), stub
// (line or null), body (the lines between the markers)}]}.  A file whose
// name takes no markers has none.
export function regionsOf(kitRoot, rels) {
    if (rels.length === 0) return {};
    return JSON.parse(runMarkers(["regions", ...rels], kitRoot));
}

// Parse "/A/../B/", "/A/+N" or "/A/" into {start, end | count}.  A slash
// inside a regex is written \/.
const REGEX_BODY = String.raw`((?:[^/\\]|\\.)+)`;
const RANGE = new RegExp(String.raw`^\/${REGEX_BODY}\/(?:\.\.\/${REGEX_BODY}\/|\+(\d+))?$`);

export function parseRange(spec) {
    const match = RANGE.exec(spec);
    if (!match) throw new DeckError(`bad range ${JSON.stringify(spec)}: use /START/../END/ or /START/+N`);
    try {
        if (match[2] !== undefined) return { start: new RegExp(match[1]), end: new RegExp(match[2]) };
        return { start: new RegExp(match[1]), count: Number(match[3] ?? 0) };
    } catch (error) {
        throw new DeckError(`bad regular expression in ${spec}: ${error.message}`);
    }
}

// Index of the first line at or after `from` that matches re, or -1.
function findLine(lines, re, from = 0) {
    for (let i = from; i < lines.length; i++) if (re.test(lines[i])) return i;
    return -1;
}

// Blank out comments, string and character literals (same length), so that
// braces and semicolons in them do not count.
function codeOnly(lines) {
    let inBlock = false;
    return lines.map((line) => {
        let out = "";
        for (let i = 0; i < line.length; i++) {
            const c = line[i];
            if (inBlock) {
                if (c === "*" && line[i + 1] === "/") {
                    inBlock = false;
                    out += "  ";
                    i++;
                } else out += " ";
            } else if (c === "/" && line[i + 1] === "/") {
                out += " ".repeat(line.length - i);
                break;
            } else if (c === "/" && line[i + 1] === "*") {
                inBlock = true;
                out += "  ";
                i++;
            } else if (c === '"' || c === "'") {
                let j = i + 1;
                while (j < line.length && line[j] !== c) j += line[j] === "\\" ? 2 : 1;
                out += " ".repeat(Math.min(j, line.length - 1) - i + 1);
                i = j;
            } else out += c;
        }
        return out;
    });
}

// From the line where a function's signature starts, find its body:
// returns [first, last] line indexes of the definition, or null when the
// first '{' or ';' after the parameters is a ';' (a declaration).
function definitionFrom(code, first) {
    let depth = 0;
    let seenParen = false;
    for (let i = first; i < code.length; i++) {
        for (const c of code[i]) {
            if (c === "(") {
                depth++;
                seenParen = true;
            } else if (c === ")") depth--;
            else if (depth === 0 && seenParen && c === ";") return null;
            else if (depth === 0 && seenParen && c === "{") return [first, closingBrace(code, i)];
        }
    }
    return null;
}

// Index of the line holding the '}' that closes the first '{' at or after line i.
function closingBrace(code, i) {
    let depth = 0;
    let opened = false;
    for (let j = i; j < code.length; j++) {
        for (const c of code[j]) {
            if (c === "{") {
                depth++;
                opened = true;
            } else if (c === "}") {
                depth--;
                if (opened && depth === 0) return j;
            }
        }
    }
    return code.length - 1;
}

function escapeRegExp(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// A signature line: starts at column 0 with no comment or preprocessor
// directive, and names NAME followed by '('.
function signatureRegExp(name) {
    return new RegExp(`^(?![\\s/#*])(?:.*[\\s*&:])?${escapeRegExp(name)}\\s*\\(`);
}

// Select the lines of an anchor from text: [first, last] indexes (inclusive).
export function selectAnchor(text, anchor) {
    const lines = splitLines(text);
    const code = codeOnly(lines);
    if (anchor.kind === "whole") return [0, lines.length - 1];
    if (anchor.kind === "function" || anchor.kind === "decl") {
        const signature = signatureRegExp(anchor.name);
        for (let i = 0; i < lines.length; i++) {
            if (!signature.test(lines[i])) continue;
            const definition = definitionFrom(code, i);
            if (anchor.kind === "function" && definition) return definition;
            if (anchor.kind === "decl" && definition === null) {
                const end = findLine(code, /;/, i);
                return [i, end < 0 ? i : end];
            }
        }
        return null;
    }
    if (anchor.kind === "lines") {
        const start = findLine(lines, anchor.range.start);
        if (start < 0) return null;
        if (anchor.range.end) {
            const end = findLine(lines, anchor.range.end, start + 1);
            return end < 0 ? null : [start, end];
        }
        if (start + anchor.range.count >= lines.length) return null;
        return [start, start + anchor.range.count];
    }
    throw new DeckError(`unknown anchor ${anchor.kind}`);
}

// Extend [first, last] upwards over the comment lines right above it.
export function withComment(text, [first, last]) {
    const lines = splitLines(text);
    let top = first;
    while (top > 0 && /^\s*(\/\/|\/\*|\*|#(?![a-z]))/.test(lines[top - 1])) top--;
    return [top, last];
}

// Remove the common leading indentation of a block of lines.
export function dedent(lines) {
    const indents = lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)[0].length);
    const common = indents.length ? Math.min(...indents) : 0;
    return lines.map((l) => l.slice(common));
}

// The files of the kit outside build products, the slides themselves and
// version control (tools/markers.py knows which of them take markers).
export function kitFiles(root) {
    const skip = new Set([".git", "build", "dist", "grade-logs", "__pycache__",
                          "node_modules", "slides", "results"]);
    const found = [];
    const walk = (dir) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            if (skip.has(entry.name)) continue;
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(full);
            else if (entry.isFile()) found.push(full);
        }
    };
    walk(root);
    return found.sort();
}
