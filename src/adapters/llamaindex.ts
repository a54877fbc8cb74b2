// fastembed-native/llamaindex: a LlamaIndex.TS BaseEmbedding backed by a local model. Text and nodes get the model's
// passage prefix, queries its query instruction (E5, BGE), as the model's authors intend for retrieval.
/**
 * A LlamaIndex.TS embedding model backed by a local model.
 *
 * @packageDocumentation
 * @module fastembed-native/llamaindex
 */
import { BaseEmbedding } from '@llamaindex/core/embeddings';
import type { MessageContentDetail } from '@llamaindex/core/llms';
import { EmbedderSource, type EmbedderInput } from './embedder-source.js';

export type { EmbedderInput };

export class FastembedEmbedding extends BaseEmbedding {
  readonly #source: EmbedderSource;

  /** `embedder`: an Embedder (shared; close() leaves it open) or the options to create one on first use. */
  constructor(embedder: EmbedderInput = {}) {
    super();
    this.#source = new EmbedderSource(embedder);
    // The model batches any number of texts itself (by tokens, not count); LlamaIndex's chunks of 10 only add calls.
    this.embedBatchSize = 512;
  }

  async getTextEmbedding(text: string): Promise<number[]> {
    return (await this.getTextEmbeddings([text]))[0];
  }

  getTextEmbeddings = async (texts: string[]): Promise<number[][]> => {
    const vectors = await (await this.#source.get()).embedPassages(texts);
    return vectors.map((v) => Array.from(v));
  };

  /** A text query with the model's query instruction; null for content that is not text (as BaseEmbedding does). */
  async getQueryEmbedding(query: MessageContentDetail): Promise<number[] | null> {
    if (query?.type !== 'text') return null;
    return Array.from(await (await this.#source.get()).embedQuery(query.text));
  }

  /** Frees the model's native sessions when this instance created them. */
  close(): Promise<void> {
    return this.#source.close();
  }
}
