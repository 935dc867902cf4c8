// kit-code.mjs -- read code out of the kit's files for the slides.
//
// Two views of every kit file:
//   * reference: the file as the instructor has it, minus the marker lines
//     (BEGIN/END SOLUTION, BEGIN/END HIDDEN) themselves;
//   * handout: what `make handout` gives students -- each SOLUTION region
//     replaced by its stub line, each HIDDEN region removed.
// handoutText() follows the grammar of tools/make_handout.py line for line;
// `make -C slides test` compares the two on every kit file that has markers.
//
// Anchors name a piece of a file in a way that survives edits around it:
//   function=NAME      the definition of NAME, signature to closing brace
//   decl=NAME          the declaration of NAME (a prototype ending in ';')
//   lines=/A/../B/     from the first line matching A to the next matching B
//   lines=/A/+N        the line matching A and the N lines after it
//   whole              the whole file
// `with-comment` adds the comment lines right above the piece.

import fs from "node:fs";
import path from "node:path";

export class DeckError extends Error {}

// A marker is a whole-line comment in the file's own syntax (as in
// tools/make_handout.py): a `// BEGIN SOLUTION` line inside a Markdown code
// block is an example, not a marker.
const PREFIXES = { "//": String.raw`\/\/`, "#": "#", "<!--": "<!--" };
const STYLES = [
    [/\.(cpp|h|hh|c)$/, "//"],
    [/\.(py|sh|mk|ini|ya?ml)$|(^|\/)Makefile$/, "#"],
    [/\.(md|html)$/, "<!--"],
];
const MARKERS = Object.fromEntries(Object.entries(PREFIXES).map(([prefix, pattern]) => [
    prefix,
    new RegExp(String.raw`^(?<indent>\s*)` + pattern +
               String.raw`\s*(?<edge>BEGIN|END)\s+(?<kind>SOLUTION|HIDDEN)\b(?<rest>.*?)\s*(?:-->)?\s*$`),
]));

// The marker pattern of the file `where` (a path), or null if it has none.
export function markerFor(where) {
    for (const [pattern, prefix] of STYLES) if (pattern.test(where)) return MARKERS[prefix];
    return null;
}
const STUB = /^\s*stub:\s*(?<stub>.+)$/;

// Lines of text, each without its line ending.  A final newline ends the
// last line; it does not start an empty one.
export function splitLines(text) {
    const lines = text.split("\n");
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines;
}

// Parse the markers of one file: its regions, or a DeckError naming file:line.
// Each region: {kind, begin, end (1-based marker lines), stub (line or null),
// body (the lines between the markers)}.
export function regionsOf(text, where) {
    const regions = [];
    const marker = markerFor(where);
    if (marker === null) return regions;
    let open = null;
    splitLines(text).forEach((line, index) => {
        const number = index + 1;
        const match = marker.exec(line);
        if (match === null) {
            if (open !== null) open.body.push(line);
            return;
        }
        const { kind, edge, indent } = match.groups;
        const rest = match.groups.rest.trim();
        if (edge === "BEGIN") {
            if (open !== null)
                throw new DeckError(`${where}:${number}: BEGIN ${kind} inside the ${open.kind} ` +
                                    `region opened at line ${open.begin}`);
            let stub = null;
            if (rest) {
                const stubMatch = STUB.exec(rest);
                if (kind !== "SOLUTION" || stubMatch === null)
                    throw new DeckError(`${where}:${number}: unexpected text after BEGIN ${kind}`);
                stub = indent + stubMatch.groups.stub;
            }
            open = { kind, begin: number, end: null, stub, body: [] };
        } else {
            if (open === null || open.kind !== kind)
                throw new DeckError(`${where}:${number}: END ${kind} without BEGIN ${kind}`);
            if (rest) throw new DeckError(`${where}:${number}: unexpected text after END ${kind}`);
            open.end = number;
            regions.push(open);
            open = null;
        }
    });
    if (open !== null)
        throw new DeckError(`${where}:${open.begin}: BEGIN ${open.kind} is never closed`);
    return regions;
}

// The file as students get it (see tools/make_handout.py).
export function handoutText(text, where) {
    regionsOf(text, where); // validates the markers
    const marker = markerFor(where);
    if (marker === null) return text;
    const out = [];
    let open = null;
    for (const line of splitLines(text)) {
        const match = marker.exec(line);
        if (match === null) {
            if (open === null) out.push(line);
            continue;
        }
        if (match.groups.edge === "BEGIN") {
            const stubMatch = STUB.exec(match.groups.rest.trim());
            open = stubMatch ? match.groups.indent + stubMatch.groups.stub : "";
        } else {
            if (open) out.push(open);
            open = null;
        }
    }
    return out.join("\n") + (out.length ? "\n" : "");
}

// The file as the instructor has it, without the marker lines.
export function referenceText(text, where) {
    regionsOf(text, where);
    const marker = markerFor(where);
    if (marker === null) return text;
    const kept = splitLines(text).filter((line) => !marker.test(line));
    return kept.join("\n") + (kept.length ? "\n" : "");
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

// The files of the kit that can hold solution regions: text files outside
// build products, the slides themselves and version control.
export function kitFiles(root) {
    const skip = new Set([".git", "build", "dist", "grade-logs", "__pycache__",
                          "node_modules", "slides", "results"]);
    const styled = /\.(cpp|h|hh|py|sh|mk|ini|ya?ml|md|html)$|(^|\/)Makefile$/;
    const found = [];
    const walk = (dir) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            if (skip.has(entry.name)) continue;
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(full);
            else if (entry.isFile() && styled.test(entry.name)) found.push(full);
        }
    };
    walk(root);
    return found.sort();
}
