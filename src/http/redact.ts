/** Absolute file paths in a message become <path>: they describe the server's disk to whoever asks. */
export function redactPaths(message: string): string {
  return message.replace(/(?<![\w.:/])\/(?:[\w.@+-]+\/)+[\w.@+-]*/g, '<path>');
}
