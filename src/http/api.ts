// What every HTTP API module provides (the original routes, OpenAI's, TEI's, operations) and the one error model
// they share: an error has a kind; each API decides the status and the body shape a kind gets in its own dialect.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ModelSet } from '../service/model-set.js';

export type ErrorKind =
  | 'validation' // the request is malformed or a value is out of range
  | 'empty' // nothing to work on (TEI tells it apart)
  | 'unauthorized'
  | 'not_found' // no such route, or no such model
  | 'method_not_allowed'
  | 'unsupported_media'
  | 'too_large' // body or token budget over the limits
  | 'overloaded' // too much work in flight: retry later
  | 'unavailable' // no model loaded, service disabled or closing
  | 'timeout'
  | 'client_closed' // the client went away before its answer: nobody reads the status (499, as nginx logs it)
  | 'internal';

export interface ApiError {
  kind: ErrorKind;
  status: number;
  message: string;
  /** The request field at fault, when known. */
  param?: string;
}

/** An error a route raises on purpose: kind, message for the client, and the field at fault. */
export class HttpError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The limits a server enforces, reported by /info. */
export interface Limits {
  /** Largest request body in bytes. */
  bodyLimit: number;
  /** Requests doing work at once; past it, 429 with Retry-After. */
  maxInFlight: number;
  /** Inputs (texts or token sequences) in one request. */
  maxInputs: number;
  /** Documents in one search. */
  maxDocuments: number;
  /** Characters in one input. */
  maxInputChars: number;
  /** Over-long inputs are cut to the model's length unless a request says otherwise; false: refused (422/400). */
  autoTruncate: boolean;
}

export interface RouteContext {
  models: ModelSet;
  limits: Limits;
}

export interface RouteSchema {
  summary: string;
  /** What a 200 carries (default application/json). */
  produces?: string;
  body?: object;
  response?: Record<number, object>;
}

export interface Route {
  method: 'GET' | 'POST';
  url: string;
  schema: RouteSchema;
  /** Metric and log name; routes without one are probes or operations, not counted as traffic. */
  apiMethod?: string;
  /** Answers without an API key (probes). */
  public?: boolean;
  /** Does model work: takes an in-flight slot, gets timing headers and an abort signal. */
  work?: boolean;
  /** Its answer is made of the client's own texts or their vectors: sent as it is, never redacted (server.ts). */
  clientData?: boolean;
  handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

export interface HttpApi {
  /** Shown as the OpenAPI tag. */
  name: string;
  routes: Route[];
  /** The status a kind of error gets in this API. */
  status(kind: ErrorKind): number;
  /** The error body in this API's shape. */
  errorBody(error: ApiError): object;
}

/** Status codes most APIs agree on; an API overrides the ones its dialect differs in. */
export const COMMON_STATUS: Record<ErrorKind, number> = {
  validation: 400,
  empty: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  unsupported_media: 415,
  too_large: 413,
  overloaded: 429,
  unavailable: 503,
  timeout: 504,
  client_closed: 499,
  internal: 500,
};

/** Fastify's own error codes and our services' codes, as kinds. */
export function classify(err: Error & { statusCode?: number; validation?: unknown; code?: string; validationContext?: string }): {
  kind: ErrorKind;
  param?: string;
} {
  if (err instanceof HttpError) return { kind: err.kind, param: err.param };
  // Only a request's own signal aborts its work (server.ts): its AbortError means the client disconnected.
  if (err.name === 'AbortError') return { kind: 'client_closed' };
  if (err.validation) {
    const first = (err.validation as Array<{ instancePath?: string; params?: { missingProperty?: string } }>)[0];
    const param = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.') || first?.params?.missingProperty;
    return { kind: 'validation', param: param || undefined };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'ERR_TOO_LARGE':
      return { kind: 'too_large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { kind: 'unsupported_media' };
    case 'ERR_INVALID_ARG': // the caller's argument; any other TypeError is our bug
      return { kind: 'validation' };
    case 'ERR_UNKNOWN_MODEL':
      return { kind: 'not_found', param: 'model' };
    case 'ERR_CLOSED':
    case 'ERR_MODEL_UNAVAILABLE':
    case 'ERR_DISABLED':
      return { kind: 'unavailable' };
    case 'ERR_TIMEOUT':
      return { kind: 'timeout' };
    case 'ERR_OVERLOADED': // refused at once: the queue could not finish it in time (server.ts sets Retry-After)
      return { kind: 'overloaded' };
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return { kind: 'validation' }; // malformed JSON and the like
  return { kind: 'internal' };
}

export const HTTP_REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  424: 'Failed Dependency',
  429: 'Too Many Requests',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The original service's error dialect ({error, message, statusCode} with common statuses), shared by operations. */
export const PLAIN_ERRORS: Pick<HttpApi, 'status' | 'errorBody'> = {
  status: (kind) => COMMON_STATUS[kind],
  errorBody: (e) => ({ error: HTTP_REASONS[e.status] ?? 'Error', message: e.message, statusCode: e.status }),
};
