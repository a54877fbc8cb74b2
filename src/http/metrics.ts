// Prometheus metrics with the seed's names, in a registry per server (so several servers can share a process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import type { SimilarityService } from '../service/service.js';

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'status'>;
  readonly duration: Histogram<'method'>;
  /** Requests whose client went away before the answer (not in fastembed_requests_total: no status was sent). */
  readonly clientDisconnects: Counter<'method'>;

  /** `inFlight`: requests holding a work slot now. */
  constructor(service: SimilarityService, inFlight: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'fastembed_requests_total',
      help: 'HTTP requests by API method and status code',
      labelNames: ['method', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'fastembed_request_duration_seconds',
      help: 'HTTP request duration by API method',
      labelNames: ['method'],
      buckets: exponentialBuckets(0.001, 2, 15), // the seed's buckets
      registers,
    });
    this.clientDisconnects = new Counter({
      name: 'fastembed_client_disconnects_total',
      help: 'Requests whose client disconnected before the answer, by API method (their work was cancelled)',
      labelNames: ['method'],
      registers,
    });
    const stat = <T>(pick: (s: ReturnType<SimilarityService['getStats']>) => T) => () => pick(service.getStats());
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    // Totals the service already counts, exported as Counters (a reset, e.g. clearCache, reads as a counter reset).
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    gauge('fastembed_cache_size', 'Embeddings held in the in-memory cache', stat((s) => s.cache.size));
    gauge('fastembed_model_pool_size', 'ONNX Runtime sessions in the pool', stat((s) => s.poolSize));
    counter('fastembed_cache_hits_total', 'Embedding cache hits since start', stat((s) => s.cache.hits));
    counter('fastembed_cache_misses_total', 'Embedding cache misses since start', stat((s) => s.cache.misses));
    counter('fastembed_fallbacks_total', 'Answers given by the Jaccard fallback since start', stat((s) => s.fallbackCount));
    counter('fastembed_texts_embedded_total', 'Texts run through the model since start', stat((s) => s.textsEmbedded));
    gauge('fastembed_queue_tokens', 'Tokens accepted by the model and not yet embedded', stat((s) => s.queue.queuedTokens));
    gauge('fastembed_predicted_wait_seconds', 'How long the queued tokens take at the measured speed', stat((s) => s.queue.predictedWaitMs / 1000));
    gauge('fastembed_throughput_tokens_per_second', 'The model\'s measured speed while busy (0 until measured)', stat((s) => s.queue.tokensPerSecond ?? 0));
    counter('fastembed_overload_refusals_total', 'Calls refused at once because the queue could not finish them in time or was full (429)', stat((s) => s.queue.refused));
    gauge('fastembed_search_index_bytes', 'Memory of the large document sets kept as compact indexes for dense search', stat((s) => s.searchIndexes.bytes));
    counter('fastembed_search_index_hits_total', 'Dense searches answered from a kept document-set index (only the query embedded)', stat((s) => s.searchIndexes.hits));
    gauge('fastembed_http_in_flight', 'HTTP requests doing model work now (bounded by maxInFlight)', inFlight);
    gauge('fastembed_healthy', '1 when healthy, 0 when degraded or starting', () => (service.health().status === 'healthy' ? 1 : 0));
    gauge('fastembed_model_loaded', '1 when a model answers, 0 while starting or on the fallback', () => (service.modelLoaded ? 1 : 0));
  }
}
