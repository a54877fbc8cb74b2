/** The HTTP service's default port (Dockerfile, compose and Kubernetes files use it too; CI checks they agree). */
export const DEFAULT_PORT = 8080;
