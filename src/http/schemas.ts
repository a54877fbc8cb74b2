// JSON schemas of the HTTP API: Fastify validates requests with them and /openapi.json is built from them.

const text = { type: 'string', maxLength: 1_000_000 } as const;
const method = { type: 'string', enum: ['fastembed_cosine', 'jaccard_fallback'] } as const;
const errorBody = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' }, statusCode: { type: 'integer' } },
} as const;

export const MAX_DOCUMENTS = 10_000;
export const MAX_TEXTS = 2_048;

const match = {
  type: 'object',
  properties: {
    text: { type: 'string' },
    index: { type: 'integer' },
    similarity: { type: 'number' },
    method,
    model: { type: 'string' },
    dimension: { type: 'integer' },
  },
} as const;

export const computeSchema = {
  summary: 'Similarity of two texts',
  body: {
    type: 'object',
    required: ['text1', 'text2'],
    additionalProperties: false,
    properties: { text1: text, text2: text },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        text1: { type: 'string' },
        text2: { type: 'string' },
        similarity: { type: 'number' },
        method,
        model: { type: 'string' },
        dimension: { type: 'integer' },
        timestamp: { type: 'string' },
      },
    },
    400: errorBody,
  },
} as const;

export const searchSchema = {
  summary: 'The top_k documents most similar to the query, best first',
  body: {
    type: 'object',
    required: ['query', 'documents'],
    additionalProperties: false,
    properties: {
      query: text,
      documents: { type: 'array', items: text, maxItems: MAX_DOCUMENTS },
      top_k: { type: 'integer', minimum: 1, maximum: MAX_DOCUMENTS, default: 5 },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: { query: { type: 'string' }, results: { type: 'array', items: match }, timestamp: { type: 'string' } },
    },
    400: errorBody,
  },
} as const;

export const embeddingsSchema = {
  summary: 'Embeddings of texts (float arrays, or base64 little-endian float32 with encoding: "base64")',
  body: {
    type: 'object',
    required: ['texts'],
    additionalProperties: false,
    properties: {
      texts: { type: 'array', items: text, minItems: 0, maxItems: MAX_TEXTS },
      encoding: { type: 'string', enum: ['float', 'base64'], default: 'float' },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        model: { type: 'string' },
        dim: { type: 'integer' },
        encoding: { type: 'string' },
        embeddings: { type: 'array', items: { anyOf: [{ type: 'array', items: { type: 'number' } }, { type: 'string' }] } },
      },
    },
    400: errorBody,
  },
} as const;

export const simpleGet = (summary: string) => ({ summary }) as const;
