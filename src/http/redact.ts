/**
 * Absolute file paths in a message become <path>: they describe the server's disk to whoever asks. `keep` spares
 * the paths that are not files (the server's own routes, the URL a client asked for).
 */
export function redactPaths(message: string, keep: (path: string) => boolean = () => false): string {
  return message.replace(/(?<![\w.:/])\/(?:[\w.@+-]+\/)+[\w.@+-]*/g, (path) => (keep(path) ? path : '<path>'));
}
