// Prometheus metrics with the seed's names, in a registry per server (so several servers can share a process).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SimilarityService } from '../service.js';

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'status'>;
  readonly duration: Histogram<'method'>;

  constructor(service: SimilarityService) {
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
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
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
    gauge('fastembed_cache_size', 'Embeddings held in the in-memory cache', stat((s) => s.cache.size));
    gauge('fastembed_model_pool_size', 'ONNX Runtime sessions in the pool', stat((s) => s.poolSize));
    gauge('fastembed_cache_hits', 'Embedding cache hits since start', stat((s) => s.cache.hits));
    gauge('fastembed_cache_misses', 'Embedding cache misses since start', stat((s) => s.cache.misses));
    gauge('fastembed_fallback_count', 'Answers given by the Jaccard fallback since start', stat((s) => s.fallbackCount));
    gauge('fastembed_texts_embedded', 'Texts run through the model since start', stat((s) => s.textsEmbedded));
    gauge('fastembed_healthy', '1 when healthy, 0 when degraded or starting', () => (service.health().status === 'healthy' ? 1 : 0));
  }
}
