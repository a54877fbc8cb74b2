// Waiting on a promise until a signal aborts, without leaving anything behind. Promise.race against one long-lived
// "aborted" promise adds a reaction to it on every call that lives as long as it does, holding each race's result:
// an embedStream of 200,000 lines kept every line it had read that way (peak RSS 707 MB against 312 MB at 20,000).
import { abortError } from './errors.js';

/** `promise`'s outcome, or an AbortError as soon as `signal` aborts; the abort listener is removed either way. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
