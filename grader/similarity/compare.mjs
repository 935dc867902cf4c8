// Dolos (https://dolos.ugent.be) over a set of C++ files, for similarity.py.
//
//   node compare.mjs < {"files": [PATH, ...], "template": PATH or null}
//   > {"pairs": [{"left": I, "right": J, "similarity": S, "longest": N,
//                 "regions": [{"left": [FROM, TO], "right": [FROM, TO]}, ...]}, ...]}
//
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

const pairs = report.allPairs().map(pair => ({
    left: index.get(pair.leftFile),
    right: index.get(pair.rightFile),
    similarity: pair.similarity,
    longest: pair.longest,
    regions: pair.buildFragments().map(fragment => ({
        left: lines(fragment.leftSelection),
        right: lines(fragment.rightSelection),
    })),
}));
process.stdout.write(JSON.stringify({ pairs }) + "\n");
