// The argument checks public entries run before doing any work: a TypeError or RangeError (code ERR_INVALID_ARG)
// that names the argument and says what it should be.
import { invalidArgument } from './errors.js';

/** An optional integer option from 1 to max; undefined passes. */
export function optionalIntegerInRange(value: unknown, name: string, max: number, min = 1): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument('range', `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

export function assertPositiveInteger(value: unknown, name: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalidArgument('range', `${name} must be a positive integer, got ${String(value)}`);
  }
}

export function assertText(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgument('type', `${name} must be a string, got ${value === null ? 'null' : typeof value}`);
}

/** Rejects non-arrays and non-string items with a TypeError naming the index. */
export function assertTexts(texts: unknown, name = 'texts'): asserts texts is string[] {
  if (!Array.isArray(texts)) throw invalidArgument('type', `${name} must be an array of strings, got ${typeof texts}`);
  for (let i = 0; i < texts.length; i++) {
    if (typeof texts[i] !== 'string') {
      throw invalidArgument('type', `${name}[${i}] must be a string, got ${texts[i] === null ? 'null' : typeof texts[i]}`);
    }
  }
}
