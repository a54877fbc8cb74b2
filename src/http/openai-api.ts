// OpenAI's embeddings API (POST /v1/embeddings, GET /v1/models), as the official SDKs and LangChain call it.
import { COMMON_STATUS, type ErrorKind, HttpError, type HttpApi, type RouteContext } from './api.js';
import { embedInputs, encodingFormat, modelField, readInputs, sendJson, serviceFor, vectorJson } from './shared.js';

interface EmbeddingsBody {
  input: unknown;
  model?: string;
  encoding_format: 'float' | 'base64';
  dimensions?: number;
  user?: string;
}

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['message', 'type'],
      properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: 'string', nullable: true }, code: { type: 'string', nullable: true } },
    },
  },
} as const;

/** OpenAI's error `type` and `code` for each kind. */
const TYPES: Record<ErrorKind, [string, string | null]> = {
  validation: ['invalid_request_error', null],
  empty: ['invalid_request_error', null],
  unauthorized: ['invalid_request_error', 'invalid_api_key'],
  not_found: ['invalid_request_error', null], // 'model_not_found' when it is the model (below)
  method_not_allowed: ['invalid_request_error', null],
  unsupported_media: ['invalid_request_error', null],
  too_large: ['invalid_request_error', 'request_too_large'],
  overloaded: ['requests', 'rate_limit_exceeded'],
  unavailable: ['server_error', 'service_unavailable'],
  timeout: ['server_error', 'timeout'],
  client_closed: ['server_error', null],
  internal: ['server_error', null],
};

export function openaiApi({ models, limits }: RouteContext): HttpApi {
  const embeddings = {
    method: 'POST' as const,
    apiMethod: 'openai_embeddings',
    work: true,
    clientData: true,
    schema: {
      summary: "Embeddings, as OpenAI's API: input is a string, strings, token ids or lists of token ids",
      body: {
        type: 'object',
        required: ['input'],
        properties: {
          input: {
            anyOf: [
              { type: 'string', maxLength: limits.maxInputChars },
              { type: 'array', items: { type: 'string', maxLength: limits.maxInputChars }, minItems: 1, maxItems: limits.maxInputs },
              { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 },
              { type: 'array', items: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 }, minItems: 1, maxItems: limits.maxInputs },
            ],
          },
          model: modelField,
          encoding_format: { ...encodingFormat, default: 'float' },
          dimensions: { type: 'integer', minimum: 1 },
          user: { type: 'string' },
        },
      },
      response: {
        200: {
          type: 'object',
          required: ['object', 'data', 'model', 'usage'],
          properties: {
            object: { type: 'string', enum: ['list'] },
            data: {
              type: 'array',
              items: {
                type: 'object',
                required: ['object', 'index', 'embedding'],
                properties: {
                  object: { type: 'string', enum: ['embedding'] },
                  index: { type: 'integer' },
                  embedding: { anyOf: [{ type: 'array', items: { type: 'number' } }, { type: 'string' }] },
                },
              },
            },
            model: { type: 'string' },
            usage: {
              type: 'object',
              required: ['prompt_tokens', 'total_tokens'],
              properties: { prompt_tokens: { type: 'integer' }, total_tokens: { type: 'integer' } },
            },
          },
        },
        400: errorSchema,
      },
    },
    async handler(req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) {
      const body = req.body as EmbeddingsBody;
      const service = serviceFor(req, models, body.model);
      const inputs = readInputs(body.input, 'input', limits);
      const info = await service.describeModel();
      if (body.dimensions !== undefined && body.dimensions !== info.dimension) {
        throw new HttpError('validation', `${info.id} gives ${info.dimension}-dimensional vectors and cannot shorten them; leave dimensions out or set it to ${info.dimension}`, 'dimensions');
      }
      const vectors = await embedInputs(req, service, inputs, { truncate: limits.autoTruncate, direction: 'right', prefix: '', param: 'input' });
      const tokens = req.timing!.tokens;
      const data = vectors.map((v, i) => `{"object":"embedding","index":${i},"embedding":${vectorJson(v, body.encoding_format)}}`);
      return sendJson(reply, `{"object":"list","data":[${data.join(',')}],"model":${JSON.stringify(info.id)},"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`);
    },
  };
  const list = {
    method: 'GET' as const,
    schema: {
      summary: 'The served models',
      response: {
        200: {
          type: 'object',
          required: ['object', 'data'],
          properties: {
            object: { type: 'string' },
            data: {
              type: 'array',
              items: { type: 'object', properties: { id: { type: 'string' }, object: { type: 'string' }, created: { type: 'integer' }, owned_by: { type: 'string' } } },
            },
          },
        },
      },
    },
    async handler() {
      const created = Math.floor(Date.now() / 1000);
      return { object: 'list', data: models.ids.map((id) => ({ id, object: 'model', created, owned_by: 'fastembed-native' })) };
    },
  };
  return {
    name: 'openai',
    status: (kind) => COMMON_STATUS[kind],
    errorBody: (e) => {
      const [type, code] = TYPES[e.kind];
      const model = e.kind === 'not_found' && e.param === 'model';
      return { error: { message: e.message, type, param: e.param ?? null, code: model ? 'model_not_found' : code } };
    },
    routes: [
      { ...embeddings, url: '/v1/embeddings' },
      { ...embeddings, url: '/embeddings' },
      { ...list, url: '/v1/models' },
      { ...list, url: '/models' },
    ],
  };
}
