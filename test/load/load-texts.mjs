// Texts for the load clients: about `words` words each, unique (so no cache answers them).
const WORDS = 'the model reads every passage in the corpus and the index keeps each vector near the others that share its meaning while queries arrive from many callers at once'.split(' ');

let serial = 0;
export function text(words) {
  const id = serial++;
  const out = [`request ${id}`];
  for (let i = 0; i < words; i++) out.push(WORDS[(id * 7 + i * 13) % WORDS.length]);
  return out.join(' ');
}

/** A /v1/embeddings request body of `n` such texts. */
export function embeddingsBody(model, n, words) {
  return JSON.stringify({ input: Array.from({ length: n }, () => text(words)), model, encoding_format: 'base64' });
}
