// Pieces the API modules share: request schemas' building blocks, the request's abort signal and timing, and
// embedding a request's inputs (texts or token ids) with its truncation rules.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ModelSet } from '../service/model-set.js';
import type { CallOptions, SimilarityService } from '../service/service.js';
import type { TruncationDirection } from '../runtime/tokenizer.js';
import { binding } from '../runtime/binding.js';
import { HttpError, type Limits } from './api.js';

export const modelField = { type: 'string', minLength: 1, maxLength: 256 } as const;
export const encodingFormat = { type: 'string', enum: ['float', 'base64'] } as const;
export const floatEncoding = { anyOf: [{ type: 'array', items: { type: 'number' } }, { type: 'string' }] } as const;
/** The original routes' top_k: a whole number a JS number holds exactly (2^53 + 1 and 1e308 are not); ≤ 0 means 5. */
export const topKField = { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER } as const;
export const tokenIds = { type: 'array', items: { type: 'integer', minimum: 0, maximum: 4294967295 } } as const;
export const textSchema = (limits: Limits) => ({ type: 'string', maxLength: limits.maxInputChars }) as const;

/** Where the time of a request went; the pipeline turns it into TEI's x-*-time headers. */
export interface RequestTiming {
  tokenizationMs: number;
  inferenceMs: number;
  tokens: number;
  characters: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Aborted when the client goes away before its answer: its texts are dropped before they reach a batch. */
    abort?: AbortController;
    timing?: RequestTiming;
    /** The served id of the model the request uses, for its error messages. */
    servedModel?: string;
    /** The deadline the client asked for (X-Timeout-Ms), if shorter than the server's timeout. */
    timeoutMs?: number;
  }
}

/** A request's call options: its abort signal and the shorter deadline it asked for (X-Timeout-Ms), if any. */
export const callOf = (req: FastifyRequest): CallOptions => ({ signal: req.abort?.signal, timeoutMs: req.timeoutMs });

/** The service for a request's `model` field (the default without one), its id kept for the error messages. */
export function serviceFor(req: FastifyRequest, models: ModelSet, name?: string): SimilarityService {
  req.servedModel = models.idOf(name);
  return models.get(name);
}

/** One vector as JSON: a float array (each value the shortest decimal that reads back as the same float32, written
 *  natively), or base64 of its little-endian float32 bytes. */
export function vectorJson(v: Float32Array, encoding: 'float' | 'base64'): string {
  if (encoding === 'base64') return `"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"`;
  return binding().floatsJson(v);
}

/** Sends a body already serialised to JSON (vectors are written straight into it). */
export function sendJson(reply: FastifyReply, json: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(json);
}

/** Vectors as a JSON array (of float arrays or base64 strings). */
export function vectorsJson(vectors: Float32Array[], encoding: 'float' | 'base64'): string {
  return `[${vectors.map((v) => vectorJson(v, encoding)).join(',')}]`;
}

/** A request's inputs: strings, or token id sequences of the model's vocabulary. */
export type Inputs = { texts: string[] } | { ids: number[][] };

/** OpenAI's and TEI's `input(s)`: a string, strings, token ids, or lists of token ids. */
export function readInputs(value: unknown, param: string, limits: Limits): Inputs {
  const isIds = (x: unknown): x is number[] => Array.isArray(x) && x.every((n) => typeof n === 'number');
  let inputs: Inputs;
  if (typeof value === 'string') inputs = { texts: [value] };
  else if (Array.isArray(value) && value.every((x) => typeof x === 'string')) inputs = { texts: value as string[] };
  else if (isIds(value) && value.length > 0) inputs = { ids: [value] };
  else if (Array.isArray(value) && value.every(isIds)) inputs = { ids: value as number[][] };
  else throw new HttpError('validation', `${param} must be a string, an array of strings, an array of token ids, or an array of such arrays`, param);
  const n = 'texts' in inputs ? inputs.texts.length : inputs.ids.length;
  if (n === 0) throw new HttpError('empty', `${param} is empty: send at least one input`, param);
  if (n > limits.maxInputs) {
    throw new HttpError('validation', `${param} holds ${n} inputs; this server takes at most ${limits.maxInputs} per request (send several requests)`, param);
  }
  return inputs;
}

export interface EmbedRules {
  /** Cut over-long inputs to the model's length (true), or refuse them (false: a validation error). */
  truncate: boolean;
  direction: TruncationDirection;
  /** Put before every text (a prompt such as BGE's query instruction). */
  prefix: string;
  /** The name of the field holding the inputs, for error messages. */
  param: string;
}

/**
 * Embeds a request's inputs under its truncation rules, recording tokens, characters and where the time went.
 * Texts cut at their end come from the service's cache path; cut at their start or given as ids they run as tokens.
 */
export async function embedInputs(req: FastifyRequest, service: SimilarityService, inputs: Inputs, rules: EmbedRules): Promise<Float32Array[]> {
  const call = callOf(req);
  const timing: RequestTiming = { tokenizationMs: 0, inferenceMs: 0, tokens: 0, characters: 0 };
  req.timing = timing;
  let t0 = performance.now();
  let vectors: Float32Array[];
  if ('ids' in inputs) {
    const { maxLength } = await service.describeModel();
    const ids = inputs.ids.map((row, i) => {
      if (row.length <= maxLength) return row;
      if (!rules.truncate) throw tooLong(rules.param, i, row.length, maxLength);
      return rules.direction === 'left' ? row.slice(row.length - maxLength) : row.slice(0, maxLength);
    });
    timing.tokens = ids.reduce((a, r) => a + r.length, 0);
    t0 = performance.now();
    vectors = await service.embedTokens(ids, call);
  } else {
    const texts = rules.prefix ? inputs.texts.map((t) => rules.prefix + t) : inputs.texts;
    // Refused before tokenising when the model's queue could not finish it in time (429 at once).
    const release = service.reserveCapacity(texts, call);
    timing.characters = texts.reduce((a, t) => a + t.length, 0);
    let tokenized;
    try {
      tokenized = await service.tokenize(texts, { truncation: rules.direction });
    } finally {
      release();
    }
    timing.tokenizationMs = performance.now() - t0;
    timing.tokens = tokenized.reduce((a, t) => a + t.length, 0);
    const cut = tokenized.findIndex((t) => t.truncated);
    if (cut >= 0 && !rules.truncate) throw tooLong(rules.param, cut, undefined, (await service.describeModel()).maxLength);
    t0 = performance.now();
    vectors = rules.direction === 'left' && cut >= 0 ? await service.embedTokens(tokenized, call) : await service.computeBatchEmbeddings(texts, call);
  }
  timing.inferenceMs = performance.now() - t0;
  return vectors;
}

function tooLong(param: string, index: number, tokens: number | undefined, maxLength: number): HttpError {
  const size = tokens === undefined ? 'is longer than' : `has ${tokens} tokens, more than`;
  return new HttpError(
    'validation',
    `${param}[${index}] ${size} the model's ${maxLength} tokens; shorten it, or ask for truncation (TEI: "truncate": true)`,
    param,
  );
}
