// Types for the two small analysis packages that ship none.
declare module 'wink-porter2-stemmer' {
  /** Porter2 (Snowball English) stem of one lower-case word. */
  export default function stem(word: string): string;
}
declare module 'stopword' {
  /** Stopword lists by ISO 639-3 code (eng, zho, …). */
  const lists: Record<string, string[]>;
  export default lists;
}
