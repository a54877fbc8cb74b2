import { describe, expect, test } from 'vitest';
import { FairSlots } from '../../src/engine/fair-slots.js';

/** Queues `n` acquisitions on `lane`, recording `name` in `order` as each is granted. */
function queue(slots: FairSlots, lane: Array<() => void>, name: string, n: number, order: string[]): Promise<void>[] {
  return Array.from({ length: n }, () => slots.acquire(lane).then(() => void order.push(name)));
}

async function drain(slots: FairSlots, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    slots.release();
    await Promise.resolve();
    await Promise.resolve();
  }
}

describe('FairSlots', () => {
  test('a caller that starts waiting is served before the next batch of a bulk call already waiting', async () => {
    const slots = new FairSlots(1);
    const order: string[] = [];
    const bulk: Array<() => void> = [];
    const query: Array<() => void> = [];
    const all = queue(slots, bulk, 'bulk', 5, order); // the first batch runs, four wait
    await Promise.resolve();
    all.push(...queue(slots, query, 'query', 1, order));
    await drain(slots, 5);
    await Promise.all(all);
    expect(order).toEqual(['bulk', 'query', 'bulk', 'bulk', 'bulk', 'bulk']);
  });

  test('callers that start waiting are served in arrival order (the oldest is not starved by later ones)', async () => {
    const slots = new FairSlots(1);
    const order: string[] = [];
    const all = queue(slots, [], 'running', 1, order);
    await Promise.resolve();
    for (const name of ['q1', 'q2', 'q3', 'q4']) all.push(...queue(slots, [], name, 1, order));
    await drain(slots, 4);
    await Promise.all(all);
    expect(order).toEqual(['running', 'q1', 'q2', 'q3', 'q4']);
  });

  test('a stream of new callers takes turns with a bulk call instead of starving it', async () => {
    const slots = new FairSlots(1);
    const order: string[] = [];
    const all = queue(slots, [], 'bulk', 4, order);
    await Promise.resolve();
    for (const name of ['q1', 'q2', 'q3', 'q4']) all.push(...queue(slots, [], name, 1, order));
    await drain(slots, 7);
    await Promise.all(all);
    expect(order).toEqual(['bulk', 'q1', 'bulk', 'q2', 'bulk', 'q3', 'bulk', 'q4']);
  });

  test('two bulk calls alternate batch by batch', async () => {
    const slots = new FairSlots(1);
    const order: string[] = [];
    const a: Array<() => void> = [];
    const b: Array<() => void> = [];
    const all = [...queue(slots, a, 'a', 3, order), ...queue(slots, b, 'b', 3, order)];
    await Promise.resolve();
    await drain(slots, 6);
    await Promise.all(all);
    expect(order).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
  });

  test('slots beyond the waiters are returned, and the limit holds', async () => {
    const slots = new FairSlots(2);
    const order: string[] = [];
    const lane: Array<() => void> = [];
    const first = queue(slots, lane, 'x', 3, order);
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toHaveLength(2);
    await drain(slots, 1);
    await Promise.all(first);
    expect(order).toHaveLength(3);
    slots.release();
    slots.release();
    const later = queue(slots, [], 'y', 3, order);
    await Promise.resolve();
    await Promise.resolve();
    expect(order.filter((n) => n === 'y')).toHaveLength(2);
    await drain(slots, 1);
    await Promise.all(later);
  });
});

test('shared: true while another lane waits or two lanes took turns within the last second, false for a call alone', async () => {
  const slots = new FairSlots(1);
  const a: Array<() => void> = [];
  const b: Array<() => void> = [];
  const order: string[] = [];
  const first = queue(slots, a, 'a', 2, order);
  await Promise.resolve();
  expect(slots.shared(a)).toBe(false);
  const other = queue(slots, b, 'b', 1, order);
  expect(slots.shared(a)).toBe(true); // b waits
  await drain(slots, 3);
  await Promise.all([...first, ...other]);
  expect(order).toEqual(['a', 'b', 'a']);
  expect(slots.shared(a)).toBe(true); // they took turns just now
});
