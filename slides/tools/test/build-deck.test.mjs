// Unit tests of the deck build: anchors, audiences, errors, the rule that
// keeps solutions out of student decks.  `make -C slides unit-test`.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

import { DeckBuilder, MAX_EXCERPT, codeBlocks, codeSize, countSlides, fenceAfter, leaks, longestRun }
    from "../build-deck.mjs";
import { DeckError, MARKERS_PROGRAM, handoutText, referenceText, regionsOf, selectAnchor, splitLines }
    from "../kit-code.mjs";

const SLIDES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const KIT = path.resolve(SLIDES, "..");

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

// A tiny kit in a temporary folder: one student file with two regions.
function fakeKit() {
    const root = scratchDir("forklab-slides-test-");
    fs.mkdirSync(path.join(root, "labx"));
    fs.writeFileSync(path.join(root, "labx", "server.cpp"), [
        "// server.cpp -- a test file.",
        "#include <cstdio>",
        "",
        "// Add two numbers.",
        "int add(int a, int b);",
        "",
        "int add(int a, int b)",
        "{",
        "    // BEGIN SOLUTION stub: return not_implemented(\"add\", a, b);",
        "    const int sum = a + b;",
        "    std::printf(\"%d\\n\", sum);",
        "    return sum;",
        "    // END SOLUTION",
        "}",
        "",
        "void helper_free()",
        "{",
        "    // BEGIN SOLUTION",
        "    int one = 1;",
        "    int two = 2;",
        "    int three = 3;",
        "    int four = 4;",
        "    int five = 5;",
        "    int six = 6;",
        "    int seven = 7;",
        "    // END SOLUTION",
        "}",
        "",
    ].join("\n"));
    fs.mkdirSync(path.join(root, "diagrams"));
    fs.writeFileSync(path.join(root, "diagrams", "box.svg"),
                     '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><title>A box</title></svg>');
    return root;
}

function builder(root, variant) {
    return new DeckBuilder({ variant, kitRoot: root, diagramsDir: path.join(root, "diagrams"),
                             figuresSource: path.join(root, "none.json") });
}

const deck = (...lines) => ["---", "marp: true", "---", "", ...lines, ""].join("\n");

// Run fn with the environment variable name set to value (or removed).
function withEnv(name, value, fn) {
    const saved = process.env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
    try {
        return fn();
    } finally {
        if (saved === undefined) delete process.env[name];
        else process.env[name] = saved;
    }
}

test("the editions of a file are tools/markers.py's: the slides parse no markers", () => {
    const root = fakeKit();
    // A stand-in for Python that says what it was asked: kit-code.mjs shows
    // whatever the marker program prints, and has no grammar of its own.
    const fake = path.join(scratchDir("forklab-fake-python-"), "python");
    fs.writeFileSync(fake, '#!/bin/sh\nprintf "from the marker program:"\nprintf " %s" "$@"\n', { mode: 0o755 });
    const text = withEnv("FORKLAB_PYTHON", fake, () => handoutText(root, "labx/server.cpp"));
    assert.equal(text, `from the marker program: ${MARKERS_PROGRAM} extract labx/server.cpp --edition student`);
    withEnv("FORKLAB_PYTHON", "/bin/false", () =>
        assert.throws(() => regionsOf(root, ["labx/server.cpp"]), DeckError));
});

test("a fixture with markers: the student and instructor editions and the regions", () => {
    const root = fakeKit();
    const student = handoutText(root, "labx/server.cpp");
    assert.match(student, /^int add\(int a, int b\)\n\{\n    return not_implemented\("add", a, b\);\n\}\n/m);
    assert.doesNotMatch(student, /const int sum|int one|SOLUTION/);
    assert.match(student, /^void helper_free\(\)\n\{\n\}\n/m);
    const instructor = referenceText(root, "labx/server.cpp");
    assert.equal(instructor, fs.readFileSync(path.join(root, "labx", "server.cpp"), "utf8")
        .split("\n").filter((l) => !/\/\/ (BEGIN|END) SOLUTION/.test(l)).join("\n"));
    // The same texts as tools/markers.py run by hand.
    const python = process.env.FORKLAB_PYTHON || "python3";
    for (const [edition, text] of [["student", student], ["instructor", instructor]])
        assert.equal(execFileSync(python, [MARKERS_PROGRAM, "extract", "labx/server.cpp", "--edition", edition],
                                  { cwd: root, encoding: "utf8" }), text);
    const regions = regionsOf(root, ["labx/server.cpp", "diagrams/box.svg"]);
    assert.deepEqual(regions["diagrams/box.svg"], []);
    assert.deepEqual(regions["labx/server.cpp"].map((r) => [r.kind, r.begin, r.end, r.stub, r.body.length]),
                     [["SOLUTION", 9, 13, '    return not_implemented("add", a, b);', 3],
                      ["SOLUTION", 18, 26, null, 7]]);
    assert.equal(regions["labx/server.cpp"][0].body[0], "    const int sum = a + b;");
});

test("a bad marker: one line naming the file and line, and build-deck exits non-zero", () => {
    const root = fakeKit();
    fs.writeFileSync(path.join(root, "labx", "open.cpp"), "int f()\n{\n    // BEGIN SOLUTION\n    return 1;\n}\n");
    fs.writeFileSync(path.join(root, "labx", "typo.cpp"), "int g()\n{\n    // BEGIN SOLUTOIN\n}\n");
    assert.throws(() => handoutText(root, "labx/open.cpp"),
                  (e) => e instanceof DeckError && e.message === "labx/open.cpp:3: BEGIN SOLUTION is never closed");
    assert.throws(() => referenceText(root, "labx/typo.cpp"),
                  (e) => e instanceof DeckError && /^labx\/typo\.cpp:3: unknown marker 'BEGIN SOLUTOIN' [^\n]*$/.test(e.message));
    const deckFile = path.join(root, "d.md");
    fs.writeFileSync(deckFile, deck("@code labx/open.cpp function=f"));
    const run = (variant) => {
        try {
            execFileSync(process.execPath, [path.join(SLIDES, "tools", "build-deck.mjs"), "--variant", variant,
                                            "--kit", root, "--out", path.join(root, "out.md"), deckFile],
                         { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        } catch (error) {
            return { status: error.status, stderr: error.stderr };
        }
        return { status: 0, stderr: "" };
    };
    for (const variant of ["instructor", "student"]) {
        const { status, stderr } = run(variant);
        assert.equal(status, 1, variant);
        assert.equal(stderr, `build-deck: ${deckFile}:5: labx/open.cpp:3: BEGIN SOLUTION is never closed\n`, variant);
    }
    assert.equal(fs.existsSync(path.join(root, "out.md")), false);
});

test("anchors: a function, a declaration, a range, a range inside a function", () => {
    const text = referenceText(fakeKit(), "labx/server.cpp");
    const lines = splitLines(text);
    const [first, last] = selectAnchor(text, { kind: "function", name: "add" });
    assert.equal(lines[first], "int add(int a, int b)");
    assert.equal(lines[last], "}");
    const decl = selectAnchor(text, { kind: "decl", name: "add" });
    assert.equal(lines[decl[0]], "int add(int a, int b);");
    assert.equal(selectAnchor(text, { kind: "function", name: "missing" }), null);
    assert.equal(selectAnchor(text, { kind: "lines", range: { start: /nothing/, count: 0 } }), null);
});

test("a code include shows the reference to instructors and the stub to students", () => {
    const root = fakeKit();
    const source = deck("## Add", "", "@code labx/server.cpp function=add");
    const instructor = builder(root, "instructor").build(source, "t.md");
    const student = builder(root, "student").build(source, "t.md");
    assert.match(instructor, /const int sum = a \+ b;/);
    assert.doesNotMatch(instructor, /BEGIN SOLUTION/);
    assert.match(student, /return not_implemented\("add", a, b\);/);
    assert.doesNotMatch(student, /const int sum/);
    assert.match(student, /<div class="src">labx\/server.cpp · <code>add<\/code><\/div>/);
});

test("a missing file or anchor is an error naming the deck and line", () => {
    const root = fakeKit();
    assert.throws(() => builder(root, "instructor").build(deck("@code labx/nope.cpp whole"), "d.md"),
                  (e) => e instanceof DeckError && /^d\.md:5: @code labx\/nope.cpp: no such file/.test(e.message));
    assert.throws(() => builder(root, "instructor").build(deck("", "@code labx/server.cpp function=sub"), "d.md"),
                  (e) => e instanceof DeckError && /^d\.md:6: .*function=sub not found/.test(e.message));
});

test("solution code missing from the handout tells the author what to write", () => {
    const root = fakeKit();
    assert.throws(() => builder(root, "student").build(deck("@code labx/server.cpp lines=/int one/+1"), "d.md"),
                  (e) => /it is solution code: add student=excerpt/.test(e.message));
});

test("students may see an excerpt of a solution, never a whole region", () => {
    const root = fakeKit();
    const excerpt = deck(`@code labx/server.cpp lines=/int one/+${MAX_EXCERPT - 1} student=excerpt`);
    assert.match(builder(root, "student").build(excerpt, "d.md"), /int five = 5;/);
    const tooLong = deck(`@code labx/server.cpp lines=/int one/+${MAX_EXCERPT} student=excerpt`);
    assert.throws(() => builder(root, "student").build(tooLong, "d.md"),
                  (e) => /shows 6 lines of the SOLUTION region labx\/server.cpp:18-26/.test(e.message));
    const whole = deck("@code labx/server.cpp function=add student=excerpt");
    assert.throws(() => builder(root, "student").build(whole, "d.md"),
                  (e) => /shows the whole SOLUTION region labx\/server.cpp:9-13/.test(e.message));
    // Typed in by hand, the same code is caught too.
    const typed = deck("```cpp", "const int sum = a + b;", "std::printf(\"%d\\n\", sum);", "return sum;", "```");
    assert.throws(() => builder(root, "student").build(typed, "d.md"), /the whole SOLUTION region/);
    assert.doesNotThrow(() => builder(root, "instructor").build(whole, "d.md"));
    assert.match(builder(root, "student").build(deck("@code labx/server.cpp function=add student=hidden"), "d.md"),
                 /your handout has a stub here/);
});

test("speaker notes are for instructors; Marp directives stay for everyone", () => {
    const root = fakeKit();
    const source = deck("<!-- _class: lead -->", "# Title", "", "<!--", "Say this.", "-->", "", "text");
    const student = builder(root, "student").build(source, "d.md");
    assert.match(student, /<!-- _class: lead -->/);
    assert.doesNotMatch(student, /Say this/);
    assert.match(builder(root, "instructor").build(source, "d.md"), /Say this/);
});

test("@only keeps a part for one audience, and must be closed", () => {
    const root = fakeKit();
    const source = deck("a", "", "@only instructor", "secret", "@end", "@only student", "public", "@end");
    assert.match(builder(root, "instructor").build(source, "d.md"), /secret/);
    assert.doesNotMatch(builder(root, "instructor").build(source, "d.md"), /public/);
    assert.match(builder(root, "student").build(source, "d.md"), /public/);
    assert.throws(() => builder(root, "student").build(deck("@only student", "x"), "d.md"), /d\.md:5: @only without @end/);
    assert.throws(() => builder(root, "student").build(deck("@frobnicate"), "d.md"), /unknown directive @frobnicate/);
});

test("a diagram becomes an inline SVG with its <title> as alt text", () => {
    const root = fakeKit();
    const out = builder(root, "student").build(deck("@diagram box w=600"), "d.md");
    assert.match(out, /!\[A box w:600\]\(data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+\)/);
    assert.throws(() => builder(root, "student").build(deck("@diagram nothing"), "d.md"), /d\.md:5: @diagram nothing/);
});

test("slides are counted as Marp counts them", () => {
    assert.equal(countSlides(deck("# one")), 1);
    assert.equal(countSlides(deck("# one", "", "---", "", "# two", "", "```", "---", "```")), 2);
    assert.equal(countSlides(deck("text", "---", "", "more")), 1); // a heading underline
});

test("one rule for code fences: a longer bare fence of the same kind closes one", () => {
    assert.equal(fenceAfter(null, "```cpp"), "```");
    assert.equal(fenceAfter("```", "```cpp"), "```"); // an info string: still code
    assert.equal(fenceAfter("```", "~~~"), "```");
    assert.equal(fenceAfter("````", "```"), "````");
    assert.equal(fenceAfter("```", "````"), null);
    const text = ["````md", "```", "---", "````", "", "---", ""].join("\n");
    assert.deepEqual(codeBlocks(text).map((b) => b.lines), [["```", "---"]]);
    assert.equal(countSlides(text), 2);
});

test("runs and sizes", () => {
    assert.equal(longestRun(["a", "b", "c", "x"], ["b", "c", "d"]), 2);
    assert.equal(codeSize(["x".repeat(80)]), "code-l");
    assert.equal(codeSize(["x".repeat(100)]), "code-s");
    assert.deepEqual(leaks("```\nx\n```\n", [{ where: "f:1-3", kind: "SOLUTION", lines: ["x"] }], "d"), []);
});

test("every deck builds for both audiences with no solution leaking to students", (t) => {
    const diagrams = path.join(SLIDES, "build", "diagrams");
    if (!fs.existsSync(diagrams)) return t.skip("build/diagrams/ not built yet (make html first)");
    for (const file of fs.readdirSync(path.join(SLIDES, "decks")).filter((f) => f.endsWith(".md"))) {
        for (const variant of ["instructor", "student"]) {
            const b = new DeckBuilder({ variant, kitRoot: KIT, diagramsDir: diagrams,
                                        figuresSource: path.join(KIT, "bench", "results", "reference.json") });
            assert.doesNotThrow(() => b.build(fs.readFileSync(path.join(SLIDES, "decks", file), "utf8"), file));
        }
    }
});
