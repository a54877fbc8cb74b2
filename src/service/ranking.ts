// The pieces of ranking the service's search methods share: the texts as the model embeds them for retrieval, the
// documents' vectors laid out for the SIMD kernels, and the order of results.
import type { Embedder } from '../engine/embedder.js';
import { TopK } from '../lexical/top-k.js';
import { fuse, type FusionOptions } from './hybrid.js';
import type { DocumentMatch, SimilarityMethod, SimilarityResult } from './service-types.js';

/** Documents as the model embeds passages (e5's "passage: "; most models add nothing). */
export function passages(embedder: Embedder, documents: string[]): string[] {
  return embedder.passagePrefix ? documents.map((d) => embedder.passagePrefix + d) : documents;
}

/**
 * Documents' vectors (all but the first, the query) as one contiguous matrix for the SIMD kernels, on a
 * SharedArrayBuffer so a large one is searched in place across cores (topK).
 */
export function documentMatrix(vectors: Float32Array[]): Float32Array {
  const dim = vectors[0].length;
  const matrix = new Float32Array(new SharedArrayBuffer((vectors.length - 1) * dim * 4));
  for (let i = 1; i < vectors.length; i++) matrix.set(vectors[i], (i - 1) * dim);
  return matrix;
}

/** Best first; ties in document order. */
export function byScore(a: DocumentMatch, b: DocumentMatch): number {
  return b.similarity - a.similarity || a.index - b.index;
}

/**
 * Documents ranked, best first, by their cosine (`dense`: every document), their BM25 score (`lexical`: those that
 * share a term with the query, as a full-text engine answers), or both fused (hybrid: every document, the parts in
 * `scores`); the best `limit` of them.
 */
export function rankMatches(
  documents: readonly string[],
  parts: { dense?: ArrayLike<number>; lexical?: ArrayLike<number> },
  method: SimilarityMethod,
  fusion: FusionOptions,
  result: (similarity: number, method: SimilarityMethod) => SimilarityResult,
  limit = documents.length,
): DocumentMatch[] {
  const { dense, lexical } = parts;
  const similarity = dense && lexical ? fuse(dense, lexical, fusion) : (dense ?? lexical)!;
  // The first `limit` in a heap on typed arrays: objects only for the results returned.
  const top = new TopK(Math.min(limit, documents.length));
  for (let i = 0; i < documents.length; i++) if (dense || similarity[i] > 0) top.push(i, similarity[i]);
  return Array.from(top.sorted().ids, (index) => ({
    text: documents[index],
    index,
    ...result(similarity[index], method),
    ...(dense && lexical ? { scores: { dense: dense[index], lexical: lexical[index] } } : {}),
  }));
}
