// fastembed-native/ai: an embedding model for the AI SDK (`embed`, `embedMany` from 'ai'), backed by a local model.
// The AI SDK's provider interface (specification v3) is matched structurally, so this module imports nothing from
// it at run time. `input: 'query'` adds the model's query instruction (E5, BGE); the default is documents.
/**
 * An embedding model for the AI SDK (embed, embedMany).
 *
 * @packageDocumentation
 * @module fastembed-native/ai
 */
import { EmbedderSource, type EmbedderInput } from './embedder-source.js';

export type { EmbedderInput };

export interface FastembedEmbeddingModelOptions {
  /** What the values are: 'document' (default; the model's passage prefix) or 'query' (its query instruction). */
  input?: 'document' | 'query';
}

/** The AI SDK's EmbeddingModelV3 for text, as fastembed-native implements it. */
export interface FastembedEmbeddingModel {
  readonly specificationVersion: 'v3';
  readonly provider: 'fastembed-native';
  readonly modelId: string;
  /** No limit: the model batches any number of texts itself. */
  readonly maxEmbeddingsPerCall: undefined;
  readonly supportsParallelCalls: true;
  doEmbed(options: { values: string[]; abortSignal?: AbortSignal }): Promise<{
    embeddings: number[][];
    usage: { tokens: number };
    warnings: [];
  }>;
  /** Frees the model's native sessions when this model created them. */
  close(): Promise<void>;
}

export function fastembedEmbeddingModel(embedder: EmbedderInput = {}, options: FastembedEmbeddingModelOptions = {}): FastembedEmbeddingModel {
  const input = options.input ?? 'document';
  if (input !== 'document' && input !== 'query') throw new RangeError(`input must be 'document' or 'query', got ${String(input)}`);
  const source = new EmbedderSource(embedder);
  return {
    specificationVersion: 'v3',
    provider: 'fastembed-native',
    modelId: source.modelId,
    maxEmbeddingsPerCall: undefined,
    supportsParallelCalls: true,
    async doEmbed({ values, abortSignal }) {
      if (!Array.isArray(values)) throw new TypeError(`values must be an array of strings, got ${typeof values}`);
      const e = await source.get();
      const prefix = input === 'query' ? e.queryPrefix : e.passagePrefix;
      const texts = prefix ? values.map((v) => prefix + v) : values;
      // Tokenised once: the same ids give the vectors and the usage the AI SDK reports.
      const tokenized = await e.tokenize(texts);
      const vectors = await e.embedTokens(tokenized, { signal: abortSignal });
      const tokens = tokenized.reduce((sum, t) => sum + t.length, 0);
      return { embeddings: vectors.map((v) => Array.from(v)), usage: { tokens }, warnings: [] };
    },
    close: () => source.close(),
  };
}
