// The adapters layer: framework integrations (LangChain, Vercel AI SDK, LlamaIndex) over the engine's Embedder and
// (LangChain's retriever) the service's search. It may import service/ and below; only the package entries import it.
//
// EmbedderSource: what every framework adapter holds — an Embedder the caller passed (shared, never closed here), or
// one created from options on first use (so constructing an adapter is cheap and synchronous) and closed by close().
import { Embedder, type EmbedderOptions } from '../engine/embedder.js';

export type EmbedderInput = Embedder | EmbedderOptions;

export class EmbedderSource {
  readonly #given: Embedder | undefined;
  readonly #options: EmbedderOptions;
  #created: Promise<Embedder> | undefined;

  constructor(input: EmbedderInput = {}) {
    if (input === null || typeof input !== 'object') throw new TypeError('expected an Embedder or Embedder options (an object)');
    this.#given = input instanceof Embedder ? input : undefined;
    this.#options = input instanceof Embedder ? {} : input;
  }

  /** The model id known before loading (the registry id, or the folder a custom model is read from). */
  get modelId(): string {
    return this.#given?.model ?? this.#options.model ?? this.#options.modelPath ?? 'default';
  }

  get(): Promise<Embedder> {
    if (this.#given) return Promise.resolve(this.#given);
    // A failed load is not cached: the next call tries again (a model being downloaded, a file being fixed).
    this.#created ??= Embedder.create(this.#options).catch((err: unknown) => {
      this.#created = undefined;
      throw err;
    });
    return this.#created;
  }

  /** Closes the Embedder this source created; one passed in belongs to its owner. */
  async close(): Promise<void> {
    const created = this.#created;
    this.#created = undefined;
    if (created) await (await created.catch(() => undefined))?.close();
  }
}
