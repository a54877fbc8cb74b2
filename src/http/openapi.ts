// The OpenAPI document, built from the same route schemas Fastify validates requests with, so it cannot drift.
import { packageVersion } from '../util/paths.js';
import type { HttpApi } from './api.js';

export function buildOpenApi(apis: HttpApi[], options: { secured: boolean }): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const api of apis) {
    const errorExample = api.errorBody({ kind: 'validation', status: 400, message: 'what was wrong and what to do' });
    for (const route of api.routes) {
      const { summary, body, response, produces = 'application/json' } = route.schema;
      paths[route.url] ??= {};
      paths[route.url][route.method.toLowerCase()] = {
        tags: [api.name],
        summary,
        ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: body } } } } : {}),
        ...(options.secured && !route.public ? { security: [{ bearer: [] }] } : {}),
        responses: {
          ...Object.fromEntries(
            Object.entries(response ?? { 200: {} })
              .filter(([code]) => code.startsWith('2'))
              .map(([code, schema]) => [code, { description: 'OK', content: { [produces]: { schema } } }]),
          ),
          default: { description: `An error, in the ${api.name} API's shape`, content: { 'application/json': { example: errorExample } } },
        },
      };
    }
  }
  return {
    openapi: '3.0.3',
    info: { title: 'fastembed-native', version: packageVersion() },
    tags: apis.map((a) => ({ name: a.name })),
    ...(options.secured ? { components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } } : {}),
    paths,
  };
}
