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

/** The error an aborted signal rejects with: its own AbortError reason if it has one, else a standard AbortError. */
export function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}
