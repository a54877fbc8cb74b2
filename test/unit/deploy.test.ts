// The deployment files cannot run here (no Docker engine, no cluster): check they parse and agree with the server.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfigFile } from '../../src/service/config.js';
import { DEFAULT_PORT } from '../../src/http/defaults.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');
const serverSource = ['server.ts', 'operations-api.ts'].map((f) => read(`src/http/${f}`)).join('\n');
// Every environment variable the library's source reads or names.
const allSource = fs
  .readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => read(path.join('src', f)))
  .join('\n');
const knownEnv = new Set(
  allSource
    .match(/\b(FASTEMBED_[A-Z_]+|ONNX_PATH|PORT|HOST|LOG_LEVEL|NODE_ENV)\b/g),
);
knownEnv.add('NODE_ENV');

function yamlDocs(file: string): any[] {
  const docs = parseAllDocuments(read(file));
  for (const d of docs) expect(d.errors, `${file}: ${d.errors.join('; ')}`).toEqual([]);
  return docs.map((d) => d.toJS());
}

describe('Kubernetes manifests', () => {
  const files = fs.readdirSync(path.join(root, 'deploy/k8s')).map((f) => `deploy/k8s/${f}`);
  const all = files.flatMap(yamlDocs);
  const byKind = (kind: string) => all.find((d) => d.kind === kind);

  test('Deployment, Service and ConfigMap are all there and parse', () => {
    expect(all.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Service']);
  });

  test('probes hit /health and /ready on the port the server listens on', () => {
    const container = byKind('Deployment').spec.template.spec.containers[0];
    expect(container.ports[0].containerPort).toBe(DEFAULT_PORT);
    expect(container.livenessProbe.httpGet.path).toBe('/health');
    // A first start that downloads the model is covered by the startup probe (≥ 10 min), not killed by liveness.
    expect(container.startupProbe.httpGet.path).toBe('/health');
    expect(container.startupProbe.periodSeconds * container.startupProbe.failureThreshold).toBeGreaterThanOrEqual(600);
    expect(container.livenessProbe.initialDelaySeconds ?? 0).toBe(0);
    expect(container.readinessProbe.httpGet.path).toBe('/ready');
    expect(serverSource).toContain("'/health'");
    expect(serverSource).toContain("'/ready'");
    for (const e of container.env) expect(knownEnv.has(e.name), `unknown env ${e.name}`).toBe(true);
    expect(byKind('Deployment').spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  test('the Service targets the named container port; volumes name existing objects', () => {
    const dep = byKind('Deployment').spec.template.spec;
    expect(byKind('Service').spec.ports[0].targetPort).toBe(dep.containers[0].ports[0].name);
    expect(byKind('Service').spec.selector).toEqual(byKind('Deployment').spec.template.metadata.labels);
    const volumes = Object.fromEntries(dep.volumes.map((v: any) => [v.name, v]));
    // Per-pod ReadWriteOnce storage: no ReadWriteMany claim that common storage classes can't provide.
    expect(volumes.models.ephemeral.volumeClaimTemplate.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(volumes.config.configMap.name).toBe(byKind('ConfigMap').metadata.name);
  });

  test('the ConfigMap holds a valid config file in the seed format', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fe-cfg-')), 'config.json');
    fs.writeFileSync(file, byKind('ConfigMap').data['config.json']);
    expect(loadConfigFile(file)).toMatchObject({ model: 'all-MiniLM-L6-v2', cacheDir: '/models', fallback: true });
  });
});

describe('compose file and Dockerfile', () => {
  test('compose: the service maps the server port and uses known env names', () => {
    const [compose] = yamlDocs('docker-compose.yml');
    const svc = compose.services.fastembed;
    expect(svc.ports[0]).toMatch(new RegExp(`:${DEFAULT_PORT}$`));
    for (const name of Object.keys(svc.environment)) expect(knownEnv.has(name), `unknown env ${name}`).toBe(true);
    expect(svc.environment.FASTEMBED_REDIS_URL).toMatch(/^redis:\/\/redis:/);
    expect(compose.services.redis).toBeDefined();
  });

  test('Dockerfile: multi-stage, no compiler in the final image, non-root, healthcheck on /health', () => {
    const text = read('Dockerfile');
    const stages = text.split(/^FROM /m).slice(1);
    expect(stages.length).toBe(2);
    const final = stages[1];
    expect(final).not.toMatch(/apt-get install|g\+\+|cmake|build-essential/);
    expect(final).toMatch(/^USER node$/m);
    expect(final).toMatch(/HEALTHCHECK[\s\S]*\/health/);
    expect(final).toMatch(new RegExp(`^EXPOSE ${DEFAULT_PORT}$`, 'm'));
    for (const name of final.match(/\b[A-Z][A-Z_]+(?==)/g) ?? []) expect(knownEnv.has(name), `unknown env ${name}`).toBe(true);
    // Files the image copies must exist in the repository (or be produced by the build stage).
    for (const m of stages[0].matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const f of m[1].split(' ')) expect(fs.existsSync(path.join(root, f)), f).toBe(true);
    }
  });
});
