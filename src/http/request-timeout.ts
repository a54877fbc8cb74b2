// X-Timeout-Ms: a client that will wait less than the server's timeout says so, and work the queue could not
// finish by then is refused at once (429 + Retry-After) instead of being accepted to time out.
import { HttpError } from './api.js';

/** The header's deadline in ms, or undefined without one; 400 for anything but a positive integer. */
export function requestTimeout(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header[0] : header;
  const ms = /^\d{1,9}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!(ms > 0)) throw new HttpError('validation', `the X-Timeout-Ms header must be a positive whole number of milliseconds, got "${value}"`);
  return ms;
}
