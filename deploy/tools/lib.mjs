// Shared by the offline deployment checks (scripts/check-deploy.sh): the services' configuration
// read from their sources (rs_cfg tables and getenv calls), the Dockerfile's stages, YAML loading.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// Which source folders make up each program (common/ is linked into all of them).
export const PROGRAMS = {
  'rs-gateway': ['services/gateway'],
  'rs-ingest': ['services/ingest'],
  'rs-feature': ['services/feature'],
  'rs-candidate': ['services/candidate'],
  'rs-ranking': ['services/ranking'],
  'rs-train': ['services/trainer'],
  'rs-probe': ['tools/probe'],
};
// Scripts the images run as programs: their variables are read from the script text.
export const SCRIPTS = {
  'rs-trainer-setup': 'deploy/docker/trainer-setup.sh',
  'rs-make-secrets': 'deploy/docker/make-secrets.sh',
  'rs-http-status': 'deploy/docker/http-status.sh',
};
// The five long-running services: program, the variable it listens on, the variable naming
// the address of each service it calls, and (the NNG-only ones) the variable of its own
// metrics listener (common/rs_metrics_http: GET /metrics and /healthz) with its default port.
export const SERVICES = {
  gateway: { program: 'rs-gateway', listen: 'RS_GATEWAY_HTTP', models: true,
    dials: { RS_INGEST_URL: 'ingest', RS_FEATURE_URL: 'feature', RS_CANDIDATE_URL: 'candidate',
      RS_RANKING_URL: 'ranking' } },
  ingest: { program: 'rs-ingest', listen: 'RS_INGEST_URL', pub: 'RS_INGEST_PUB_URL', dials: {},
    metrics: 'RS_INGEST_METRICS_ADDR' },
  feature: { program: 'rs-feature', listen: 'RS_FEATURE_URL', dials: { RS_INGEST_PUB_URL: 'ingest' },
    models: true, metrics: 'RS_FEATURE_METRICS_ADDR' },
  candidate: { program: 'rs-candidate', listen: 'RS_CANDIDATE_URL', dials: {}, models: true,
    metrics: 'RS_CANDIDATE_METRICS_ADDR' },
  ranking: { program: 'rs-ranking', listen: 'RS_RANKING_URL', dials: {}, models: true,
    metrics: 'RS_RANKING_METRICS_ADDR' },
};
// The routes of the metrics listener (common/rs_metrics_http.c).
export const METRICS_ROUTES = ['/metrics', '/healthz'];

function cFiles(dir) {
  const abs = join(ROOT, dir);
  return readdirSync(abs, { recursive: true })
    .filter((f) => f.endsWith('.c'))
    .map((f) => join(abs, f));
}

const CFG_RE =
  /RS_CFG_(STR|SECRET|INT|DOUBLE|LEVEL)\(\s*"(RS_[A-Z0-9_]+)"\s*,\s*\w+\s*,\s*\w+\s*,\s*("(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*|[\w.+-]+)/g;
const GETENV_RE = /getenv\(\s*"(RS_[A-Z0-9_]+)"\s*\)/g;

// configTable(program): Map name -> { type, def (string, or null when required), file }.
export function configTable(program) {
  const dirs = PROGRAMS[program];
  if (!dirs) throw new Error(`unknown program ${program}`);
  const out = new Map();
  for (const file of [...dirs, 'common'].flatMap(cFiles)) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(CFG_RE)) {
      let def = m[3];
      if (def === 'NULL') def = null;
      else if (def.startsWith('"')) def = [...def.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]).join('');
      out.set(m[2], { type: m[1], def, file: file.slice(ROOT.length + 1) });
    }
    for (const m of src.matchAll(GETENV_RE))
      if (!out.has(m[1])) out.set(m[1], { type: 'getenv', def: '', file: file.slice(ROOT.length + 1) });
  }
  if (out.size === 0) throw new Error(`no configuration found for ${program}`);
  return out;
}

// scriptVars(name): the RS_* variables a shell script reads.
export function scriptVars(name) {
  const src = readFileSync(join(ROOT, SCRIPTS[name]), 'utf8');
  return new Set([...src.matchAll(/\$\{?(RS_[A-Z0-9_]+)/g)].map((m) => m[1]));
}

// dockerStages(): Map stage -> { from, env: {}, cmd: [], health: [], pkgs: [], bins: [] }.
export function dockerStages(path = 'deploy/docker/Dockerfile') {
  const text = readFileSync(join(ROOT, path), 'utf8').replace(/\\\n/g, ' ');
  const stages = new Map();
  let cur = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    const arg = rest.join(' ');
    if (op === 'FROM') {
      const m = arg.match(/^(\S+)(?:\s+AS\s+(\S+))?$/i);
      const parent = stages.get(m[1]);
      cur = { from: m[1], env: { ...(parent?.env ?? {}) }, cmd: null, health: null,
        pkgs: [...(parent?.pkgs ?? [])], bins: [...(parent?.bins ?? [])], copies: [] };
      stages.set(m[2] ?? m[1], cur);
    } else if (op === 'ENV') {
      for (const m of arg.matchAll(/(\w+)=("[^"]*"|\S+)/g)) cur.env[m[1]] = m[2].replace(/^"|"$/g, '');
    } else if (op === 'ARG' && arg.startsWith('RUNTIME_PKGS=')) {
      cur.pkgs.push(...arg.slice('RUNTIME_PKGS='.length).replace(/"/g, '').split(/\s+/).filter(Boolean));
    } else if (op === 'CMD') {
      cur.cmd = JSON.parse(arg);
    } else if (op === 'HEALTHCHECK') {
      const m = arg.match(/CMD\s+(\[.*\])/);
      cur.health = m ? JSON.parse(m[1]) : null;
    } else if (op === 'COPY') {
      cur.copies.push(arg);
      const m = arg.match(/--from=build\s+\/opt\/recsys\/bin\/(rs-[\w-]+)\s/);
      if (m) cur.bins.push(m[1]);
    }
  }
  return stages;
}

// loadYaml(file or text): every document as plain JS.
export function loadYamlDocs(text) {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join('; '));
    return d.toJS();
  }).filter((d) => d != null);
}
export function readYaml(path) {
  return loadYamlDocs(readFileSync(path, 'utf8'));
}
export { existsSync };

// url parts: tcp://host:port or host:port -> { host, port }.
export function hostPort(url) {
  const m = String(url).match(/^(?:[a-z0-9]+:\/\/)?\[?([^\]\s/]*?)\]?:(\d+)$/);
  return m ? { host: m[1], port: Number(m[2]) } : null;
}

// A reporter that collects failures; exit code 1 when any.
export function reporter(name) {
  const errors = [];
  let checks = 0;
  return {
    ok(cond, msg) { checks++; if (!cond) errors.push(msg); return cond; },
    fail(msg) { checks++; errors.push(msg); },
    done() {
      for (const e of errors) console.error(`${name}: FAIL ${e}`);
      console.log(`${name}: ${checks - errors.length}/${checks} checks passed`);
      if (errors.length || checks === 0) process.exit(1);
    },
  };
}
