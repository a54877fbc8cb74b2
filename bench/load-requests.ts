// The requests of the HTTP benchmark, shared by the in-process loop and the load generator so both do the same work:
// request k of a scenario always carries the same texts (distinct across k, so the cache can't help).
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

export type LoadScenario = 'compute' | 'embeddings-float' | 'embeddings-base64' | 'embeddings-batch';

/** Where an OpenAI-shaped embeddings request goes and the model it names: ours, or a peer server's route. */
export interface EmbeddingsTarget {
  path: string;
  model: string;
}

export const OUR_EMBEDDINGS: EmbeddingsTarget = { path: '/v1/embeddings', model: 'all-MiniLM-L6-v2' };

/** Texts per request of the large-batch scenario. */
export const BATCH_TEXTS = 64;

export const textsPerRequest = (scenario: LoadScenario): number => (scenario === 'embeddings-batch' ? BATCH_TEXTS : 2);

export interface LoadRequest {
  url: string;
  texts: string[];
  body: string;
}

export function loadRequest(scenario: LoadScenario, queries: string[], k: number, target: EmbeddingsTarget = OUR_EMBEDDINGS): LoadRequest {
  const texts =
    scenario === 'embeddings-batch'
      ? Array.from({ length: BATCH_TEXTS }, (_, i) => `${queries[(k * BATCH_TEXTS + i) % queries.length]} #${k}`)
      : [queries[k % queries.length], `${queries[(k * 7 + 1) % queries.length]} #${k}`];
  if (scenario === 'compute') return { url: '/api/similarity/compute', texts, body: JSON.stringify({ text1: texts[0], text2: texts[1] }) };
  const encoding_format = scenario === 'embeddings-base64' ? 'base64' : 'float';
  return { url: target.path, texts, body: JSON.stringify({ input: texts, model: target.model, encoding_format }) };
}

/** What one run of the load generator (bench/load-client.ts) measured. */
export interface LoadResult {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  /** CPU the load generator itself took, as a share of one core. */
  cpu_share: number;
}

export interface LoadOptions {
  base: string;
  scenario: LoadScenario;
  connections: number;
  seconds: number;
  /** The queries file (JSON lines). */
  queries: string;
  target?: EmbeddingsTarget;
}

/**
 * Runs the load generator in its own process (`distDir`/load-client.js) so it doesn't take the server's event loop,
 * at nice 19: it stands in for clients on other machines, so it gets only the CPU the server leaves (any server
 * alike) instead of competing with inference threads that run at nice 10 (our default `inferenceNice`).
 */
export function runLoadClient(distDir: string, options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(distDir, 'load-client.js'), JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    if (child.pid !== undefined) os.setPriority(child.pid, 19);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', () => {
      const parsed = JSON.parse(out.trim().split('\n').pop() || '{"error":"no output"}');
      if (parsed.error) reject(new Error(`load generator: ${parsed.error}`));
      else resolve(parsed);
    });
  });
}
