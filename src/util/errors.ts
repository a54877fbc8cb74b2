// The util layer: helpers every layer shares (errors with stable codes, argument checks, atomic file writes, the
// package's paths). It imports nothing of the project's own.
/** Errors with a stable `code`, so callers can branch without parsing messages. */
export class FastembedError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FastembedError';
    this.code = code;
  }
}

/** Thrown by any call on an Embedder or service after `close()`. */
export class ClosedError extends FastembedError {
  constructor(what: string) {
    super(`${what} is closed; create a new one to keep working`, 'ERR_CLOSED');
    this.name = 'ClosedError';
  }
}

/**
 * Work refused at once because it could not be finished in time (or past the queue bound): retry after
 * `retryAfterMs`. HTTP answers it with 429 and Retry-After.
 */
export class OverloadedError extends FastembedError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(message, 'ERR_OVERLOADED');
    this.name = 'OverloadedError';
    this.retryAfterMs = retryAfterMs;
  }
}

/** The error an aborted signal rejects with: its own AbortError reason if it has one, else a standard AbortError. */
export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

/**
 * A caller's mistake in an argument: a TypeError (wrong type) or RangeError (wrong value) with code
 * ERR_INVALID_ARG, so the HTTP layer can tell it (400) from an internal TypeError (a bug: 500, logged).
 */
export function invalidArgument(kind: 'type' | 'range', message: string): TypeError | RangeError {
  const err = kind === 'type' ? new TypeError(message) : new RangeError(message);
  return Object.assign(err, { code: 'ERR_INVALID_ARG' });
}
