// Python source as spans of text, coloured by kind: keywords, strings,
// numbers, comments, decorators and the names after `def` and `class`.
// A tokenizer of a few rules, not a parser: good enough to read code by.

import { h } from "./dom.js";

const KEYWORDS = new Set(("False None True and as assert async await break class continue def del elif else " +
  "except finally for from global if import in is lambda nonlocal not or pass raise return try while with " +
  "yield match case").split(" "));

const TOKEN = new RegExp([
  String.raw`(?<com>#[^\n]*)`,
  String.raw`(?<str>(?:[rRbBuUfF]{1,2})?(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?))`,
  String.raw`(?<deco>^[ \t]*@[\w.]+)`,
  String.raw`(?<num>\b(?:0[xX][\da-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*\.?[\d_]*(?:[eE][+-]?\d+)?j?)\b)`,
  String.raw`(?<word>\b[A-Za-z_]\w*\b)`,
].join("|"), "gm");

/** `code` as a `<code>` element of highlighted spans. */
export function python(code) {
  const out = h("code", { class: "language-python" });
  let at = 0;
  let named = false; // the previous word was `def` or `class`
  for (const match of code.matchAll(TOKEN)) {
    if (match.index > at) out.append(code.slice(at, match.index));
    const text = match[0];
    const kind = Object.entries(match.groups).find(([, v]) => v !== undefined)[0];
    if (kind === "word") {
      if (KEYWORDS.has(text)) {
        out.append(h("span", { class: "tok-kw" }, text));
        named = text === "def" || text === "class";
      } else {
        out.append(named ? h("span", { class: "tok-fn" }, text) : text);
        named = false;
      }
    } else {
      out.append(h("span", { class: `tok-${kind}` }, text));
      named = false;
    }
    at = match.index + text.length;
  }
  if (at < code.length) out.append(code.slice(at));
  return out;
}
