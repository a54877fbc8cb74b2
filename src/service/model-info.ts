// ModelInfo: what a loaded model is, as the service, /info and TEI's /info describe it.
import type { Embedder } from '../engine/embedder.js';

export interface ModelInfo {
  id: string;
  dimension: number;
  /** Longest input in tokens; longer texts are truncated. */
  maxLength: number;
  /** Vectors are L2-normalised. */
  normalized: boolean;
  pooling: 'mean' | 'cls';
  /** 'int8' when the model runs quantised (config `quantize`), else 'none'. */
  quantize: 'none' | 'int8';
  queryPrefix: string;
  passagePrefix: string;
  /** What both texts of computeSimilarity are prefixed with. */
  symmetricPrefix: string;
}

/** The description of a loaded Embedder. */
export function modelInfoOf(e: Embedder): ModelInfo {
  return { id: e.model, dimension: e.dim, maxLength: e.maxLength, normalized: e.normalized, pooling: e.pooling, quantize: e.quantize, queryPrefix: e.queryPrefix, passagePrefix: e.passagePrefix, symmetricPrefix: e.symmetricPrefix };
}
