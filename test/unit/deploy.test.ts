// The deployment files cannot run here (no Docker engine, no cluster; kubectl's client-side dry run needs a cluster
// too): check they parse, pass Kubernetes' own schemas, and agree with the server. test/e2e/probes.test.ts runs
// their probes against real servers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parseAllDocuments } from 'yaml';
import { loadConfigFile } from '../../src/service/config.js';
import { DEFAULT_PORT } from '../../src/http/defaults.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (f: string) => fs.readFileSync(path.join(root, f), 'utf8');
const serverSource = ['server.ts', 'operations-api.ts'].map((f) => read(`src/http/${f}`)).join('\n');
const version = JSON.parse(read('package.json')).version as string;
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
  const set = () => byKind('StatefulSet');
  const container = () => set().spec.template.spec.containers[0];

  test('StatefulSet, two Services and ConfigMap are all there and parse', () => {
    expect(all.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'Service', 'Service', 'StatefulSet']);
  });

  // Kubernetes 1.30's schemas, strict (k8s-schema/make.py says where they come from): a misspelt or misplaced
  // field, a wrong type or a missing required one fails here as `kubectl apply` would fail on a cluster.
  test('every object passes the Kubernetes schema of its kind', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(JSON.parse(read('test/unit/k8s-schema/v1.30.json')), 'k8s');
    const defs: Record<string, string> = { StatefulSet: 'io.k8s.api.apps.v1.StatefulSet', Service: 'io.k8s.api.core.v1.Service', ConfigMap: 'io.k8s.api.core.v1.ConfigMap' };
    for (const doc of all) {
      const validate = ajv.getSchema(`k8s#/$defs/${defs[doc.kind]}`)!;
      expect(validate(doc), `${doc.kind} ${doc.metadata.name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
    // The check bites: a misspelt field is refused.
    const validate = ajv.getSchema(`k8s#/$defs/${defs.StatefulSet}`)!;
    const typo = structuredClone(set());
    typo.spec.template.spec.containers[0].imagePulPolicy = 'IfNotPresent';
    expect(validate(typo)).toBe(false);
  });

  test('each probe uses the endpoint that means it, on the port the server listens on', () => {
    const c = container();
    expect(c.ports[0].containerPort).toBe(DEFAULT_PORT);
    expect(c.startupProbe.httpGet.path).toBe('/startup');
    expect(c.livenessProbe.httpGet.path).toBe('/health');
    expect(c.readinessProbe.httpGet.path).toBe('/ready');
    // A first start that downloads the model is covered by the startup probe (≥ 10 min), not killed by liveness.
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(600);
    expect(c.livenessProbe.initialDelaySeconds ?? 0).toBe(0);
    for (const p of ["'/health'", "'/ready'", "'/startup'"]) expect(serverSource).toContain(p);
    for (const e of c.env) expect(knownEnv.has(e.name), `unknown env ${e.name}`).toBe(true);
    expect(set().spec.template.spec.securityContext.runAsNonRoot).toBe(true);
  });

  test('the image is pinned to the package version and pulled only when missing', () => {
    expect(container().image).toBe(`fastembed-native:${version}`);
    expect(container().imagePullPolicy).toBe('IfNotPresent');
  });

  test('the models volume is a claim per replica that outlives its pod; the Services select the pods', () => {
    const spec = set().spec;
    const [claim] = spec.volumeClaimTemplates;
    expect(claim.metadata.name).toBe('models');
    expect(claim.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(container().volumeMounts).toContainEqual({ name: 'models', mountPath: '/models' });
    // No pod-scoped (ephemeral) volume stands in for it.
    expect(spec.template.spec.volumes.map((v: any) => v.name)).toEqual(['config']);
    const services = all.filter((d) => d.kind === 'Service');
    for (const svc of services) {
      expect(svc.spec.selector).toEqual(spec.template.metadata.labels);
      expect(svc.spec.ports[0].targetPort).toBe(container().ports[0].name);
    }
    // The governing Service a StatefulSet names exists and is headless.
    expect(services.find((svc) => svc.metadata.name === spec.serviceName)?.spec.clusterIP).toBe('None');
    const volumes = Object.fromEntries(spec.template.spec.volumes.map((v: any) => [v.name, v]));
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
    expect(svc.image).toBe(`fastembed-native:${version}`);
    // The comment describes the mount the file has: the named volume at /models, not a ./models bind mount.
    expect(svc.volumes).toEqual(['models:/models']);
    expect(compose.volumes).toHaveProperty('models');
    expect(read('docker-compose.yml')).toMatch(/named\s+# volume "models" \(mounted at \/models/);
  });

  test('Dockerfile: multi-stage, no compiler in the final image, non-root, healthcheck on /startup', () => {
    const text = read('Dockerfile');
    const stages = text.split(/^FROM /m).slice(1);
    expect(stages.length).toBe(2);
    const final = stages[1];
    expect(final).not.toMatch(/apt-get install|g\+\+|cmake|build-essential/);
    expect(final).toMatch(/^USER node$/m);
    // Docker's one health state: started (every model loaded) and answering, not busy-or-not (/ready).
    expect(final).toMatch(/HEALTHCHECK[^\n]*\n\s*CMD [^\n]*'\/startup'/);
    expect(final).toMatch(new RegExp(`^EXPOSE ${DEFAULT_PORT}$`, 'm'));
    for (const name of final.match(/\b[A-Z][A-Z_]+(?==)/g) ?? []) expect(knownEnv.has(name), `unknown env ${name}`).toBe(true);
    // Files the image copies must exist in the repository (or be produced by the build stage).
    for (const m of stages[0].matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const f of m[1].split(' ')) expect(fs.existsSync(path.join(root, f)), f).toBe(true);
    }
  });
});
