// Hugging Face text-embeddings-inference's routes in its shapes: /embed, /similarity, /tokenize, /decode, /info,
// with its error body {error, error_type} and status codes (422 validation, 424 model failure, 429 overloaded).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { packageVersion } from '../util/paths.js';
import type { ModelInfo, SimilarityService } from '../service/service.js';
import type { TruncationDirection } from '../runtime/tokenizer.js';
import { cosine, normalize } from '../runtime/vector.js';
import { COMMON_STATUS, type ErrorKind, HttpError, type HttpApi, type Route, type RouteContext } from './api.js';
import { embedInputs, readInputs, sendJson, serviceFor, tokenIds, vectorsJson } from './shared.js';

const ERROR_TYPES: Record<ErrorKind, string> = {
  validation: 'Validation',
  empty: 'Empty',
  unauthorized: 'Unauthorized',
  not_found: 'NotFound',
  method_not_allowed: 'Validation',
  unsupported_media: 'Validation',
  too_large: 'Validation',
  overloaded: 'Overloaded',
  unavailable: 'Unhealthy',
  timeout: 'Backend',
  client_closed: 'Backend',
  internal: 'Backend',
};

const errorSchema = {
  type: 'object',
  required: ['error', 'error_type'],
  properties: { error: { type: 'string' }, error_type: { type: 'string' } },
} as const;

const truncationFields = {
  truncate: { type: 'boolean', nullable: true },
  truncation_direction: { type: 'string', enum: ['right', 'left', 'Right', 'Left'] },
  prompt_name: { type: 'string', nullable: true },
} as const;

interface TruncationParams {
  truncate?: boolean | null;
  truncation_direction?: string;
  prompt_name?: string | null;
}

/** sentence-transformers' prompt names for the model's prefixes (TEI reads them from its prompts config). */
function promptPrefix(info: ModelInfo, name: string | null | undefined): string {
  if (name === undefined || name === null) return '';
  const prompts: Record<string, string> = {};
  if (info.queryPrefix) prompts.query = info.queryPrefix;
  if (info.passagePrefix) Object.assign(prompts, { passage: info.passagePrefix, document: info.passagePrefix });
  if (name in prompts) return prompts[name];
  const known = Object.keys(prompts);
  throw new HttpError(
    'validation',
    known.length > 0 ? `prompt_name '${name}' is not one of this model's prompts: ${known.join(', ')}` : `prompt_name '${name}': ${info.id} has no prompts; leave prompt_name out`,
    'prompt_name',
  );
}

export function teiApi({ models, limits }: RouteContext): HttpApi {
  // TEI serves one model: the default.
  const service = (req: FastifyRequest): SimilarityService => serviceFor(req, models);
  const rules = async (req: FastifyRequest, p: TruncationParams, param: string) => {
    const info = await service(req).describeModel();
    return {
      truncate: p.truncate ?? limits.autoTruncate,
      direction: (p.truncation_direction ?? 'right').toLowerCase() as TruncationDirection,
      prefix: promptPrefix(info, p.prompt_name),
      param,
    };
  };
  const inputsSchema = {
    anyOf: [
      { type: 'string', maxLength: limits.maxInputChars },
      { type: 'array', items: { anyOf: [{ type: 'string', maxLength: limits.maxInputChars }, tokenIds] }, maxItems: limits.maxInputs },
    ],
  };
  const similarityInputs = {
    type: 'object',
    required: ['source_sentence', 'sentences'],
    properties: {
      source_sentence: { type: 'string', maxLength: limits.maxInputChars },
      sentences: { type: 'array', items: { type: 'string', maxLength: limits.maxInputChars }, maxItems: limits.maxInputs - 1 },
    },
  };
  const vectorsSchema = { type: 'array', items: { type: 'array', items: { type: 'number' } } } as const;
  const embed: Route = {
    method: 'POST',
    url: '/embed',
    apiMethod: 'tei_embed',
    work: true,
    clientData: true,
    schema: {
      summary: "Embeddings, as text-embeddings-inference's /embed",
      body: {
        type: 'object',
        required: ['inputs'],
        properties: { inputs: inputsSchema, normalize: { type: 'boolean', default: true }, dimensions: { type: 'integer', nullable: true, minimum: 1 }, ...truncationFields },
      },
      response: { 200: vectorsSchema, 422: errorSchema },
    },
    async handler(req, reply) {
      const body = req.body as TruncationParams & { inputs: unknown; normalize: boolean; dimensions?: number | null };
      const info = await service(req).describeModel();
      if (!body.normalize && info.normalized) {
        throw new HttpError('validation', `normalize: false is not available: ${info.id}'s vectors are L2-normalised as they are pooled; leave normalize out`, 'normalize');
      }
      if (body.dimensions != null && body.dimensions !== info.dimension) {
        throw new HttpError('validation', `${info.id} gives ${info.dimension}-dimensional vectors and cannot shorten them; leave dimensions out`, 'dimensions');
      }
      const vectors = await embedInputs(req, service(req), readInputs(body.inputs, 'inputs', limits), await rules(req, body, 'inputs'));
      if (body.normalize && !info.normalized) for (const v of vectors) normalize(v);
      return sendJson(reply, vectorsJson(vectors, 'float'));
    },
  };
  const similarity: Route = {
    method: 'POST',
    url: '/similarity',
    apiMethod: 'tei_similarity',
    work: true,
    clientData: true,
    schema: {
      summary: "Cosine similarity of source_sentence to each of sentences, as text-embeddings-inference's /similarity",
      body: {
        type: 'object',
        required: ['inputs'],
        properties: {
          inputs: similarityInputs,
          parameters: { type: 'object', nullable: true, properties: truncationFields },
        },
      },
      response: { 200: { type: 'array', items: { type: 'number' } }, 422: errorSchema },
    },
    async handler(req: FastifyRequest) {
      const body = req.body as { inputs: { source_sentence: string; sentences: string[] }; parameters?: TruncationParams | null };
      if (body.inputs.sentences.length === 0) throw new HttpError('empty', '`inputs.sentences` cannot be empty', 'inputs.sentences');
      const texts = [body.inputs.source_sentence, ...body.inputs.sentences];
      const [source, ...others] = await embedInputs(req, service(req), { texts }, await rules(req, body.parameters ?? {}, 'inputs.sentences'));
      return others.map((v) => cosine(source, v));
    },
  };
  return {
    name: 'tei',
    status: (kind) => ({ ...COMMON_STATUS, validation: 422, empty: 400, internal: 424, timeout: 424 })[kind],
    errorBody: (e) => ({ error: e.message, error_type: ERROR_TYPES[e.kind] }),
    routes: [
      embed,
      similarity,
      ...['/', '/invocations'].map((url) => ({
        method: 'POST' as const,
        url,
        apiMethod: 'tei_root',
        work: true,
        clientData: true,
        schema: {
          summary: 'As TEI (and Hugging Face\'s InferenceClient) call the root: /similarity for {inputs: {source_sentence, sentences}}, else /embed',
          body: { type: 'object', required: ['inputs'], properties: { inputs: { anyOf: [inputsSchema, similarityInputs] } } },
        },
        handler: (req: FastifyRequest, reply: FastifyReply) => {
          const inputs = (req.body as { inputs: unknown }).inputs;
          const target = inputs !== null && typeof inputs === 'object' && !Array.isArray(inputs) ? similarity : embed;
          // Validated (and defaults filled in) by the target route's own schema, as if it had been called.
          const validate = req.compileValidationSchema(target.schema.body!);
          if (!validate(req.body)) throw Object.assign(new Error('invalid body'), { validation: validate.errors, validationContext: 'body' });
          return target.handler(req, reply);
        },
      })),
      {
        method: 'POST',
        url: '/tokenize',
        apiMethod: 'tei_tokenize',
        clientData: true,
        schema: {
          summary: 'Tokens of each input with their text, special flag and character offsets',
          body: {
            type: 'object',
            required: ['inputs'],
            properties: {
              inputs: { anyOf: [{ type: 'string', maxLength: limits.maxInputChars }, { type: 'array', items: { type: 'string', maxLength: limits.maxInputChars }, maxItems: limits.maxInputs }] },
              add_special_tokens: { type: 'boolean', default: true },
              prompt_name: { type: 'string', nullable: true },
            },
          },
          response: {
            200: {
              type: 'array',
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { id: { type: 'integer' }, text: { type: 'string' }, special: { type: 'boolean' }, start: { type: 'integer', nullable: true }, stop: { type: 'integer', nullable: true } },
                },
              },
            },
            422: errorSchema,
          },
        },
        async handler(req) {
          const body = req.body as { inputs: string | string[]; add_special_tokens: boolean; prompt_name?: string | null };
          const prefix = promptPrefix(await service(req).describeModel(), body.prompt_name);
          const texts = (typeof body.inputs === 'string' ? [body.inputs] : body.inputs).map((t) => prefix + t);
          const details = await service(req).tokenDetails(texts);
          return details.map((tokens) =>
            (body.add_special_tokens ? tokens : tokens.filter((t) => !t.special)).map((t) => (t.special ? { ...t, start: null, stop: null } : t)),
          );
        },
      },
      {
        method: 'POST',
        url: '/decode',
        apiMethod: 'tei_decode',
        clientData: true,
        schema: {
          summary: 'Token ids back to text',
          body: {
            type: 'object',
            required: ['ids'],
            properties: { ids: { anyOf: [tokenIds, { type: 'array', items: tokenIds, maxItems: limits.maxInputs }] }, skip_special_tokens: { type: 'boolean', default: true } },
          },
          response: { 200: { type: 'array', items: { type: 'string' } }, 422: errorSchema },
        },
        async handler(req) {
          const body = req.body as { ids: number[] | number[][]; skip_special_tokens: boolean };
          const rows = body.ids.length > 0 && Array.isArray(body.ids[0]) ? (body.ids as number[][]) : [body.ids as number[]];
          return service(req).decode(rows, body.skip_special_tokens);
        },
      },
      {
        method: 'GET',
        url: '/info',
        schema: { summary: "The model and this server's limits, as text-embeddings-inference's /info" },
        async handler(req) {
          const info = await service(req).describeModel();
          const config = service(req).config;
          return {
            model_id: info.id,
            model_sha: null,
            model_dtype: info.quantize === 'int8' ? 'int8' : 'float32',
            model_type: { embedding: { pooling: info.pooling } },
            max_concurrent_requests: limits.maxInFlight,
            max_input_length: info.maxLength,
            max_batch_tokens: config.maxRequestTokens,
            max_batch_requests: null,
            max_client_batch_size: limits.maxInputs,
            auto_truncate: limits.autoTruncate,
            tokenization_workers: 1,
            version: packageVersion(),
            sha: null,
            docker_label: null,
            // Ours: what TEI's fields don't say.
            dimension: info.dimension,
            normalized: info.normalized,
            served_models: models.ids,
            limits: { body_limit_bytes: limits.bodyLimit, max_documents: limits.maxDocuments, max_input_chars: limits.maxInputChars },
          };
        },
      },
    ],
  };
}
