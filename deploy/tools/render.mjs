// render.mjs DIR: print the kustomization in DIR as one YAML stream, offline (kustomize cannot be
// installed from Debian or npm). Implements the subset deploy/k8s uses and fails on anything
// else: resources (files, or folders with a kustomization.yaml), namespace, images
// (name -> newName/newTag), patches with a path (strategic merge by apiVersion/kind/name: maps
// merge, lists of objects with a `name` merge by name, other lists are replaced).
// scripts/check-deploy.sh compares its output with `kubectl kustomize` where kubectl exists.
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { loadYamlDocs } from './lib.mjs';

const CLUSTER_SCOPED = new Set(['Namespace', 'StorageClass', 'ClusterRole', 'ClusterRoleBinding',
  'PersistentVolume', 'CustomResourceDefinition']);
const KNOWN = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches']);

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const key = (o) => `${o.apiVersion}/${o.kind}/${o.metadata?.name}`;

export function merge(base, patch) {
  if (isObj(base) && isObj(patch)) {
    const out = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = k in base ? merge(base[k], v) : v;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && patch.every((e) => isObj(e) && 'name' in e) &&
      base.every((e) => isObj(e) && 'name' in e)) {
    const out = base.map((e) => ({ ...e }));
    for (const p of patch) {
      const i = out.findIndex((e) => e.name === p.name);
      if (i >= 0) out[i] = merge(out[i], p);
      else out.push(p);
    }
    return out;
  }
  return patch;
}

function setImages(obj, images) {
  const walk = (spec) => {
    for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      const [name, tag] = c.image.split(/:(?=[^/]*$)/);
      const rule = images.find((i) => i.name === name);
      if (rule) c.image = `${rule.newName ?? name}:${rule.newTag ?? tag}`;
    }
  };
  walk(obj.spec?.template?.spec);
  walk(obj.spec?.jobTemplate?.spec?.template?.spec);
}

export function render(dir) {
  const kpath = join(dir, 'kustomization.yaml');
  const [k] = loadYamlDocs(readFileSync(kpath, 'utf8'));
  for (const f of Object.keys(k)) if (!KNOWN.has(f)) throw new Error(`${kpath}: ${f} is not supported by render.mjs`);
  let objs = [];
  for (const r of k.resources ?? []) {
    const p = resolve(dir, r);
    if (statSync(p).isDirectory()) objs.push(...render(p));
    else objs.push(...loadYamlDocs(readFileSync(p, 'utf8')));
  }
  const seen = new Set();
  for (const o of objs) {
    if (seen.has(key(o))) throw new Error(`${dir}: ${key(o)} is defined twice`);
    seen.add(key(o));
  }
  for (const p of k.patches ?? []) {
    if (!p.path || Object.keys(p).length !== 1) throw new Error(`${kpath}: only patches with a path are supported`);
    for (const patch of loadYamlDocs(readFileSync(resolve(dir, p.path), 'utf8'))) {
      const i = objs.findIndex((o) => key(o) === key(patch));
      if (i < 0) throw new Error(`${kpath}: patch ${key(patch)} matches no resource`);
      objs[i] = merge(objs[i], patch);
    }
  }
  if (k.namespace)
    objs = objs.map((o) => (CLUSTER_SCOPED.has(o.kind) ? o : merge(o, { metadata: { namespace: k.namespace } })));
  if (k.images) for (const o of objs) setImages(o, k.images);
  return objs;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const objs = render(resolve(process.argv[2]));
  process.stdout.write(objs.map((o) => stringify(o)).join('---\n'));
}
