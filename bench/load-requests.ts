// The requests of the HTTP benchmark, shared by the in-process loop and the load generator so both do the same work:
// request k of a scenario always carries the same texts (distinct across k, so the cache can't help).
export type LoadScenario = 'compute' | 'embeddings-float' | 'embeddings-base64';

export interface LoadRequest {
  url: string;
  texts: [string, string];
  body: string;
}

export function loadRequest(scenario: LoadScenario, queries: string[], k: number): LoadRequest {
  const texts: [string, string] = [queries[k % queries.length], `${queries[(k * 7 + 1) % queries.length]} #${k}`];
  if (scenario === 'compute') return { url: '/api/similarity/compute', texts, body: JSON.stringify({ text1: texts[0], text2: texts[1] }) };
  const encoding_format = scenario === 'embeddings-base64' ? 'base64' : 'float';
  return { url: '/v1/embeddings', texts, body: JSON.stringify({ input: texts, model: 'all-MiniLM-L6-v2', encoding_format }) };
}
