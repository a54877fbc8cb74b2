// fastembed-native/langchain: a LangChain.js Embeddings backed by a local model. embedDocuments adds the model's
// passage prefix and embedQuery its query instruction (E5, BGE), as the model's authors intend for retrieval. With
// it, FastembedRetriever: BM25, dense or hybrid ranking of a document list in process.
/**
 * A LangChain.js Embeddings backed by a local model, and a BM25 / hybrid retriever.
 *
 * @packageDocumentation
 * @module fastembed-native/langchain
 */
import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';
import { EmbedderSource, type EmbedderInput } from './embedder-source.js';

export type { EmbedderInput };
export { FastembedRetriever, type FastembedRetrieverInput } from './langchain-retriever.js';

export interface FastembedEmbeddingsParams extends EmbeddingsParams {
  /** An Embedder (shared; close() leaves it open) or the options to create one on first use. Default: the default model. */
  embedder?: EmbedderInput;
}

export class FastembedEmbeddings extends Embeddings {
  readonly #source: EmbedderSource;

  constructor(params: FastembedEmbeddingsParams = {}) {
    const { embedder, ...callerParams } = params;
    // Local inference has no transient network failures to retry: LangChain's default of 6 retries would only
    // repeat a bad-input error six times.
    super({ maxRetries: 0, ...callerParams });
    this.#source = new EmbedderSource(embedder);
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    const embedder = await this.#source.get();
    const vectors = await this.caller.call(() => embedder.embedPassages(documents));
    return vectors.map((v) => Array.from(v));
  }

  async embedQuery(document: string): Promise<number[]> {
    const embedder = await this.#source.get();
    return Array.from(await this.caller.call(() => embedder.embedQuery(document)));
  }

  /** Frees the model's native sessions when this instance created them. */
  close(): Promise<void> {
    return this.#source.close();
  }
}
