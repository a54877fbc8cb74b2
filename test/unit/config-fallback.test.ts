// Config loading/validation and the Jaccard fallback: pure logic, no model.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, configFromEnv, DEFAULT_CONFIG, embedderOptionsFrom, loadConfigFile, presets, resolveConfig } from '../../src/service/config.js';
import { decodeEntry, encodeEntry } from '../../src/cache/entry-format.js';
import { LruCache } from '../../src/cache/lru.js';
import { JaccardFallback } from '../../src/service/fallback.js';

const tmpFile = (content: string) => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fe-cfg-')), 'config.json');
  fs.writeFileSync(f, content);
  return f;
};

describe('config', () => {
  test('defaults and presets are valid and differ where they should', () => {
    expect(resolveConfig()).toEqual(DEFAULT_CONFIG);
    const dev = resolveConfig(presets.development());
    const prod = resolveConfig(presets.production());
    const fast = resolveConfig(presets.highPerformance());
    expect(dev.poolSize).toBe(1);
    expect(prod.poolSize).toBe(2);
    expect(fast.poolSize).toBe(Math.max(1, os.availableParallelism()));
    expect(fast.timeout).toBeLessThan(prod.timeout);
    expect(prod.timeout).toBeLessThan(dev.timeout);
  });

  test("reads the seed's JSON file format", () => {
    const file = tmpFile(
      JSON.stringify({
        fastembed: {
          enabled: true,
          model: 'bge-small-en',
          cache_dir: '/tmp/models',
          max_length: 256,
          batch_size: 16,
          enable_cache: false,
          pool_size: 3,
          timeout_seconds: 2.5,
          fallback_enabled: false,
        },
      }),
    );
    expect(loadConfigFile(file)).toMatchObject({
      enabled: true,
      model: 'bge-small-en',
      cacheDir: '/tmp/models',
      maxLength: 256,
      batchSize: 16,
      enableCache: false,
      poolSize: 3,
      timeout: 2500,
      fallback: false,
    });
  });

  test('one error lists every invalid field', () => {
    let err: ConfigError | undefined;
    try {
      resolveConfig({ poolSize: 0, maxLength: -5, fallback: 'yes' as never, redisUrl: 'http://x', bogus: 1 } as never);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.problems).toHaveLength(5);
    expect(err!.message).toMatch(/poolSize: must be an integer from 1 to 64, got 0/);
    expect(err!.message).toMatch(/maxLength: must be an integer from 1 to 8192, got -5/);
    expect(err!.message).toMatch(/fallback: must be true or false, got "yes"/);
    expect(err!.message).toMatch(/redisUrl: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(err!.message).toMatch(/bogus: unknown option/);
  });

  test('file errors: bad JSON, missing section, unknown keys', () => {
    expect(() => loadConfigFile(tmpFile('{not json'))).toThrow(/cannot read JSON/);
    expect(() => loadConfigFile(tmpFile('{"other": {}}'))).toThrow(/expected an object under the "fastembed" key/);
    expect(() => loadConfigFile(tmpFile('{"fastembed": {"pool_sise": 2}}'))).toThrow(/fastembed.pool_sise: unknown key/);
    const both = tmpFile('{"fastembed": {"pool_size": "2", "max_length": 0}}');
    expect(() => loadConfigFile(both)).toThrow(/poolSize: must be an integer from 1 to 64, got "2"/);
    expect(() => loadConfigFile(both)).toThrow(/maxLength: must be an integer from 1 to 8192, got 0/);
  });

  test('environment variables', () => {
    const c = configFromEnv({ FASTEMBED_MODEL: 'bge-base-en', FASTEMBED_POOL_SIZE: '2', FASTEMBED_TIMEOUT_SECONDS: '1.5', FASTEMBED_FALLBACK: 'off' });
    expect(c).toMatchObject({ model: 'bge-base-en', poolSize: 2, timeout: 1500, fallback: false });
    expect(() => configFromEnv({ FASTEMBED_POOL_SIZE: 'two', FASTEMBED_FALLBACK: 'maybe' })).toThrow(
      /FASTEMBED_POOL_SIZE: must be a number[\s\S]*FASTEMBED_FALLBACK: must be true or false/,
    );
  });
});

describe('custom recipe fields', () => {
  test('pooling and prefixes come from the file, the environment and are validated', () => {
    const env = configFromEnv({ FASTEMBED_POOLING: 'cls', FASTEMBED_QUERY_PREFIX: 'query: ', FASTEMBED_PASSAGE_PREFIX: 'passage: ' });
    expect(env).toMatchObject({ pooling: 'cls', queryPrefix: 'query: ', passagePrefix: 'passage: ' });
    expect(embedderOptionsFrom(env)).toMatchObject({ pooling: 'cls', queryPrefix: 'query: ', passagePrefix: 'passage: ' });
    expect(() => resolveConfig({ pooling: 'max' as never })).toThrow(/pooling: must be 'mean' or 'cls', got "max"/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fe-cfg-'));
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ fastembed: { pooling: 'mean', query_prefix: 'q: ', passage_prefix: 'p: ', normalize: false } }));
    expect(loadConfigFile(file)).toMatchObject({ pooling: 'mean', queryPrefix: 'q: ', passagePrefix: 'p: ', normalize: false });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('inferenceNice: 10 for the service by default, from the file and the environment, 0..19', () => {
    expect(embedderOptionsFrom(resolveConfig()).inferenceNice).toBe(10);
    expect(embedderOptionsFrom(configFromEnv({ FASTEMBED_INFERENCE_NICE: '0' })).inferenceNice).toBe(0);
    const file = tmpFile(JSON.stringify({ fastembed: { inference_nice: 5 } }));
    expect(loadConfigFile(file).inferenceNice).toBe(5);
    expect(() => resolveConfig({ inferenceNice: 20 })).toThrow(/inferenceNice/);
  });

  test("maxLength is unset by default (the model's recipe decides)", () => {
    expect(resolveConfig().maxLength).toBeUndefined();
    expect(embedderOptionsFrom(resolveConfig()).maxLength).toBeUndefined();
  });
});

describe('JaccardFallback', () => {
  test('lower-cased word tokens', () => {
    expect([...JaccardFallback.tokens('The cat, the HAT!')]).toEqual(['the', 'cat', 'hat']);
    expect(JaccardFallback.similarity('the cat sat', 'The cat ran')).toBeCloseTo(2 / 4);
  });

  test('CJK text becomes character bigrams', () => {
    expect([...JaccardFallback.tokens('样例数据')]).toEqual(['样例', '例数', '数据']);
    expect([...JaccardFallback.tokens('GPU加速 test')]).toEqual(['gpu', '加速', 'test']);
    expect(JaccardFallback.similarity('我喜欢猫', '我喜欢狗')).toBeCloseTo(2 / 4);
  });

  test('identical texts score 1, texts without tokens 0, disjoint 0', () => {
    expect(JaccardFallback.similarity('', '')).toBe(1);
    expect(JaccardFallback.similarity('!!!', '???')).toBe(0);
    expect(JaccardFallback.similarity('apple', 'orange')).toBe(0);
    expect(JaccardFallback.scoreAll('a b', ['a b', 'a', 'c'])).toEqual([1, 0.5, 0]);
  });
});

describe('cache building blocks', () => {
  test('LRU evicts the least recently used and expires by TTL', () => {
    const lru = new LruCache<number>(2, 1000);
    lru.set('a', 1, 0);
    lru.set('b', 2, 0);
    expect(lru.get('a', 1)).toBe(1); // a is now most recent
    lru.set('c', 3, 2);
    expect(lru.get('b', 3)).toBeUndefined();
    expect(lru.get('a', 3)).toBe(1);
    expect(lru.get('c', 5000)).toBeUndefined(); // expired
    expect(lru.size).toBe(1);
  });

  test('entries carry a checksum: a flipped bit or a torn write is never decoded', () => {
    const v = Float32Array.from([0.25, -1, 3.5]);
    const entry = encodeEntry(v);
    expect(Array.from(decodeEntry(entry)!)).toEqual([0.25, -1, 3.5]);
    const flipped = Buffer.from(entry);
    flipped[2] ^= 0x10;
    expect(decodeEntry(flipped)).toBeUndefined();
    expect(decodeEntry(entry.subarray(0, entry.length - 3))).toBeUndefined();
    expect(decodeEntry(undefined)).toBeUndefined();
  });
});
