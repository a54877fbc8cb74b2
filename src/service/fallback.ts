// JaccardFallback: similarity without a model. Word tokens (lower-cased) for alphabetic scripts, character bigrams
// for CJK text (which has no spaces between words), compared as sets.

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const TOKEN = /[\p{L}\p{N}]+/gu;

export class JaccardFallback {
  /** The token set of a text. */
  static tokens(text: string): Set<string> {
    const out = new Set<string>();
    for (const match of text.toLowerCase().matchAll(TOKEN)) {
      const word = match[0];
      if (!CJK.test(word)) {
        out.add(word);
        continue;
      }
      // Split the run into CJK and non-CJK stretches; CJK stretches become overlapping bigrams.
      for (const part of word.match(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+|[^\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]+/gu) ?? []) {
        if (!CJK.test(part)) {
          out.add(part);
        } else if (part.length === 1) {
          out.add(part);
        } else {
          const chars = Array.from(part);
          for (let i = 0; i + 1 < chars.length; i++) out.add(chars[i] + chars[i + 1]);
        }
      }
    }
    return out;
  }

  /** |A ∩ B| / |A ∪ B| of the token sets; identical texts score 1, texts without tokens 0. */
  static similarity(a: string, b: string): number {
    if (a === b) return 1;
    return JaccardFallback.setSimilarity(JaccardFallback.tokens(a), JaccardFallback.tokens(b));
  }

  static setSimilarity(a: Set<string>, b: Set<string>): number {
    if (a.size === 0 || b.size === 0) return 0;
    const [small, large] = a.size <= b.size ? [a, b] : [b, a];
    let shared = 0;
    for (const t of small) if (large.has(t)) shared++;
    return shared / (a.size + b.size - shared);
  }

  /** Scores of one query against many documents (the query is tokenised once). */
  static scoreAll(query: string, documents: string[]): number[] {
    const q = JaccardFallback.tokens(query);
    return documents.map((d) => (d === query ? 1 : JaccardFallback.setSimilarity(q, JaccardFallback.tokens(d))));
  }
}
