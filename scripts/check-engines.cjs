#!/usr/bin/env node
// Checks that every Node version our "engines" accepts is accepted by every package a user installs with us (the
// production tree and the optional peers), so no supported Node prints EBADENGINE. Dev-only packages are listed,
// not failed: they concern contributors, and CI installs them on each tested Node.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const semver = require('semver');

const root = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const ours = pkg.engines.node;

/** Paths of the installed packages in the tree npm ls prints (deduplicated). */
function tree(args) {
  const out = execFileSync('npm', ['ls', '--all', '--parseable', ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
  return new Set(out.trim().split('\n').filter((p) => p && p !== root));
}

const production = tree(['--omit=dev']);
for (const peer of Object.keys(pkg.peerDependencies ?? {})) {
  const dir = path.join(root, 'node_modules', peer);
  if (fs.existsSync(dir)) production.add(dir);
  // An optional peer's own dependencies are installed by the user too.
  for (const p of tree(['--omit=dev', peer]).values()) production.add(p);
}
const everything = tree([]);

const refuse = (dir) => {
  const file = path.join(dir, 'package.json');
  if (!fs.existsSync(file)) return undefined;
  const { name, version, engines } = JSON.parse(fs.readFileSync(file, 'utf8'));
  const range = engines && typeof engines.node === 'string' ? engines.node : undefined;
  return range && semver.validRange(range) && !semver.subset(ours, range) ? `${name}@${version} wants node ${range}` : undefined;
};

const failures = [...production].map(refuse).filter(Boolean);
const devOnly = [...everything].filter((p) => !production.has(p)).map(refuse).filter(Boolean);
if (devOnly.length > 0) console.log(`dev-only packages narrower than engines "${ours}" (contributors only):\n  ${devOnly.join('\n  ')}`);
if (failures.length > 0) {
  console.error(`engines "${ours}" accepts Node versions that these installed packages refuse:\n  ${failures.join('\n  ')}`);
  console.error('Narrow "engines" in package.json, or pin the dependency to a release that supports them.');
  process.exit(1);
}
console.log(`engines "${ours}": every package a user installs accepts it (${production.size} packages)`);
