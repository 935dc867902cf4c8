// marp-engine.cjs -- Marp, plus one permission: images may be SVG data URIs.
//
// tools/build-deck.mjs inlines every diagram as data:image/svg+xml, so a
// rendered deck is one self-contained file (HTML or PDF) that needs neither
// its diagrams folder nor local-file access.  markdown-it refuses such URIs
// by default, as a guard against script in untrusted Markdown; our decks are
// the kit's own files.
module.exports = ({ marp }) => {
    const validate = marp.markdown.validateLink;
    marp.markdown.validateLink = (url) =>
        /^data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+$/.test(url) || validate(url);
    return marp;
};
