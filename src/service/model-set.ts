// ModelSet: the models one server answers with, each a SimilarityService created (and so loaded) on first use or
// by initialize(), chosen by name: the served id, a registry alias of it, any case.
import path from 'node:path';
import type { SimilarityConfig } from './config.js';
import { DEFAULT_MODEL } from '../engine/embedder-options.js';
import { FastembedError } from '../util/errors.js';
import { getModelSpec } from '../models/registry.js';
import { SimilarityService } from './service.js';

/** The id a config serves: the registry id, or a custom model's folder name. */
function servedId(config: Readonly<SimilarityConfig>): string {
  if (config.model !== undefined) return getModelSpec(config.model).id;
  // As the Embedder names a custom model: its folder's name.
  if (config.modelPath) return path.basename(path.resolve(config.modelPath));
  return DEFAULT_MODEL;
}

export class ModelSet {
  /** The first model: what routes without a `model` field use. */
  readonly default: SimilarityService;
  readonly #configs = new Map<string, Readonly<SimilarityConfig>>();
  readonly #services = new Map<string, SimilarityService>();

  /** One served service (created elsewhere), plus configs of further models created on first use. */
  constructor(first: SimilarityService, more: Array<Partial<SimilarityConfig>> = []) {
    this.default = first;
    this.#services.set(servedId(first.config), first);
    for (const partial of more) {
      const config = { ...first.config, ...partial };
      const id = servedId(config);
      if (!this.#services.has(id)) this.#configs.set(id, config);
    }
  }

  /** Ids of every served model, the default first. */
  get ids(): string[] {
    return [...this.#services.keys(), ...[...this.#configs.keys()].filter((id) => !this.#services.has(id))];
  }

  /** Services created so far, by id. */
  get loaded(): ReadonlyMap<string, SimilarityService> {
    return this.#services;
  }

  /** The served id a model name means (the id itself, an alias of it, any case); the default's without a name. */
  idOf(name?: string): string {
    return name === undefined || name === '' ? this.ids[0] : this.#resolve(name);
  }

  /** The service for a model name (served id or an alias of it); the default when no name is given. */
  get(name?: string): SimilarityService {
    if (name === undefined || name === '') return this.default;
    const id = this.#resolve(name);
    let service = this.#services.get(id);
    if (!service) {
      service = new SimilarityService(this.#configs.get(id)!);
      this.#services.set(id, service);
    }
    return service;
  }

  #resolve(name: string): string {
    const ids = this.ids;
    const exact = ids.find((id) => id === name) ?? ids.find((id) => id.toLowerCase() === name.toLowerCase());
    if (exact) return exact;
    let canonical: string | undefined;
    try {
      canonical = getModelSpec(name).id;
    } catch {
      canonical = undefined;
    }
    if (canonical && ids.includes(canonical)) return canonical;
    throw new FastembedError(`The model '${name}' is not served here; served models: ${ids.join(', ')}`, 'ERR_UNKNOWN_MODEL');
  }

  /**
   * Creates every configured service and loads its model, all at once. Never rejects: it resolves when each has
   * loaded or failed, and a failure stays in that service's health() (a server reports it on /health and /ready).
   */
  async initialize(): Promise<void> {
    await Promise.allSettled(this.ids.map((id) => this.get(id).initialize()));
  }

  /** Closes every created service (each drains its running calls first). */
  async close(options: { deadlineMs?: number } = {}): Promise<void> {
    await Promise.all([...this.#services.values()].map((s) => s.close(options)));
  }
}
