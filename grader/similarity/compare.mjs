// Dolos (https://dolos.ugent.be) over a set of C++ files, for similarity.py.
//
//   node compare.mjs < {"files": [PATH, ...], "template": PATH or null,
//                       "regions_from": S (optional, default 0)}
//   > {"pairs": [{"left": I, "right": J, "similarity": S, "longest": N,
//                 "regions": [{"left": [FROM, TO], "right": [FROM, TO]}, ...]}, ...]}
//
// Every pair of files is listed; only those whose similarity is at least
// "regions_from" get their regions (the rest get none: building the shared
// regions of all n(n-1)/2 pairs of a large class is most of the time and of
// the output).  A pair that shares nothing but the template has similarity 0.
// Files are numbered by their place in "files"; lines count from 1.  The
// template's code (the handout's stubs and given code) is ignored: a
// fingerprint it holds counts for no pair.
//
// Dolos's own C++ grammar comes in @dodona/dolos-parsers, one native module
// built from source with the grammars of some twenty languages (minutes of
// compiling); this kit installs without it and gives Dolos the same C++
// grammar from the tree-sitter-cpp package, which ships a prebuilt binary.
import fs from "node:fs";
import { CustomTreeSitterLanguage, Dolos, File, LanguagePicker } from "@dodona/dolos-lib";

const CPP = ".cpp .hpp .cc .cxx .h .hh".split(" ");
LanguagePicker.languages = LanguagePicker.languages
    .filter(language => language.name !== "cpp")
    .concat([new CustomTreeSitterLanguage("cpp", CPP, "tree-sitter-cpp")]);

const request = JSON.parse(fs.readFileSync(0, "utf8"));
const read = path => new File(path, fs.readFileSync(path, "utf8"));
const files = request.files.map(read);
const template = request.template ? read(request.template) : undefined;

const dolos = new Dolos({ language: "cpp" });
const report = await dolos.analyze(files, "forklab", template);
const index = new Map(report.files.map((file, i) => [file, i]));
const lines = region => [region.startRow + 1, region.endRow + 1];
const regionsFrom = request.regions_from ?? 0;

const pairs = report.allPairs().map(pair => {
    const similarity = Number.isFinite(pair.similarity) ? pair.similarity : 0;
    return {
        left: index.get(pair.leftFile),
        right: index.get(pair.rightFile),
        similarity,
        longest: pair.longest,
        regions: similarity < regionsFrom ? [] : pair.buildFragments().map(fragment => ({
            left: lines(fragment.leftSelection),
            right: lines(fragment.rightSelection),
        })),
    };
});
process.stdout.write(JSON.stringify({ pairs }) + "\n");
