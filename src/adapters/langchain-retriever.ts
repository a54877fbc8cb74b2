// FastembedRetriever: a LangChain.js retriever over a fixed document list, ranked in process by the service's
// search: BM25 alone (mode 'lexical', no model; a drop-in for @langchain/community's BM25Retriever inside
// EnsembleRetriever), embeddings alone, or both fused (mode 'hybrid', the default: one call does what an
// EnsembleRetriever of a vector store and a BM25 retriever does).
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { BaseRetriever, type BaseRetrieverInput } from '@langchain/core/retrievers';
import { assertPositiveInteger } from '../util/arguments.js';
import { SimilarityService } from '../service/service.js';
import type { SimilarityConfig } from '../service/config.js';
import type { SearchOptions } from '../service/service-types.js';

export interface FastembedRetrieverInput extends BaseRetrieverInput, Omit<SearchOptions, 'signal'> {
  documents: DocumentInterface[];
  /** Documents returned per query (default 4, as LangChain's retrievers). */
  k?: number;
  /** A SimilarityService (shared; close() leaves it open) or its config, for the model ('dense' and 'hybrid'). */
  service?: SimilarityService | Partial<SimilarityConfig>;
}

export class FastembedRetriever extends BaseRetriever {
  static lc_name(): string {
    return 'FastembedRetriever';
  }

  lc_namespace = ['fastembed-native', 'retrievers'];
  readonly documents: DocumentInterface[];
  readonly k: number;
  readonly #texts: string[];
  readonly #search: Omit<SearchOptions, 'signal'>;
  readonly #service: SimilarityService;
  readonly #ownsService: boolean;

  constructor(input: FastembedRetrieverInput) {
    const { documents, k = 4, service, mode = 'hybrid', rrfK, alpha, lexical, ...base } = input;
    super(base);
    if (!Array.isArray(documents)) throw new TypeError('documents must be an array of LangChain Documents');
    assertPositiveInteger(k, 'k');
    this.documents = documents;
    this.k = k;
    this.#texts = documents.map((d, i) => {
      if (typeof d?.pageContent !== 'string') throw new TypeError(`documents[${i}].pageContent must be a string`);
      return d.pageContent;
    });
    this.#search = { mode, rrfK, alpha, lexical };
    this.#ownsService = !(service instanceof SimilarityService);
    // Not initialised here: the model loads on the first dense or hybrid query, never for lexical ones.
    this.#service = service instanceof SimilarityService ? service : new SimilarityService(service ?? {});
  }

  static fromDocuments(documents: DocumentInterface[], options: Omit<FastembedRetrieverInput, 'documents'> = {}): FastembedRetriever {
    return new FastembedRetriever({ ...options, documents });
  }

  /** The k best documents, their metadata extended with `score`, `method` and (hybrid) the part `scores`. */
  async _getRelevantDocuments(query: string): Promise<DocumentInterface[]> {
    const matches = await this.#service.findMostSimilar(query, this.#texts, this.k, this.#search);
    return matches.map(({ index, similarity, method, scores }) => {
      const doc = this.documents[index];
      return new Document({ pageContent: doc.pageContent, id: doc.id, metadata: { ...doc.metadata, score: similarity, method, ...(scores ? { scores } : {}) } });
    });
  }

  /** Closes the service when this retriever created it. */
  async close(): Promise<void> {
    if (this.#ownsService) await this.#service.close();
  }
}
