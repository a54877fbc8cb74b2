// What a request body may be sent as, checked once for every route before a byte of it is read: JSON in UTF-8,
// uncompressed. Anything else is a 415 saying what to send, not a JSON syntax error about bytes never decoded.
// Compressed bodies are refused, not inflated: inflating safely means bounding the inflated output by the body limit
// as it is produced (a small gzip can inflate a thousandfold), not only the upload.
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError } from './api.js';

/** Throws a 415 (kind unsupported_media) for a body in a content coding or charset this server does not read. */
export function checkBodyEncoding(headers: IncomingHttpHeaders): void {
  const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
  if (!hasBody) return;
  const coding = headers['content-encoding']?.trim();
  if (coding && coding.toLowerCase() !== 'identity') {
    throw new HttpError('unsupported_media', `Content-Encoding "${coding}" is not supported: send the body uncompressed (no Content-Encoding header)`);
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new HttpError('unsupported_media', `charset "${charset}" is not supported: send the body as UTF-8 JSON with "Content-Type: application/json" (or "application/json; charset=utf-8")`);
  }
}
