/** The HTTP service's default port (Dockerfile, compose and Kubernetes files use it too; CI checks they agree). */
export const DEFAULT_PORT = 8080;

/** The HTTP service's default limits (ServerOptions overrides them; /info reports them). */
export const DEFAULT_LIMITS = Object.freeze({
  bodyLimit: 10 * 1024 * 1024,
  maxInFlight: 256,
  maxInputs: 2048,
  maxDocuments: 10_000,
  maxInputChars: 1_000_000,
  autoTruncate: true,
});
