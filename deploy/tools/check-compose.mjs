// check-compose.mjs CONFIG.yml: the output of `docker-compose config` (anchors and merges
// resolved) against the services' configuration and the Dockerfile. Fails closed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ROOT, SERVICES, SCRIPTS, PROGRAMS, configTable, scriptVars, dockerStages, loadYamlDocs,
  hostPort, reporter, existsSync,
} from './lib.mjs';

const r = reporter('compose');
const [cfg] = loadYamlDocs(readFileSync(process.argv[2], 'utf8'));
const stages = dockerStages();
const services = cfg.services ?? {};
const declaredVolumes = new Set(Object.keys(cfg.volumes ?? {}));
const SECRET_NAME = /(PASSWORD|TOKEN|SECRET|_KEY)$/;

// The programs a service runs: rs-* / script names in its command, else its image's CMD.
function programsOf(svc, stage) {
  const cmd = svc.command ?? stage?.cmd ?? [];
  const words = (Array.isArray(cmd) ? cmd.join(' ') : cmd).split(/[\s;&|()"']+/);
  return [...new Set(words.filter((w) => PROGRAMS[w] || SCRIPTS[w]))];
}
function mounts(svc) {
  return (svc.volumes ?? []).map((v) => {
    if (typeof v === 'object') return { source: v.source, target: v.target, ro: !!v.read_only };
    const [source, target, mode] = v.split(':');
    return { source, target, ro: mode === 'ro' };
  });
}
function mountFor(svc, path) {
  return mounts(svc).find((m) => path === m.target || path.startsWith(`${m.target}/`));
}
function dependsOn(svc) {
  const d = svc.depends_on ?? {};
  return Array.isArray(d) ? Object.fromEntries(d.map((n) => [n, { condition: 'service_started' }])) : d;
}
function reaches(from, to, cond, seen = new Set()) {
  for (const [n, c] of Object.entries(dependsOn(services[from] ?? {}))) {
    if (n === to && (!cond || c.condition === cond)) return true;
    if (!seen.has(n)) { seen.add(n); if (reaches(n, to, cond, seen)) return true; }
  }
  return false;
}

for (const [name, svc] of Object.entries(services)) {
  const env = svc.environment ?? {};
  let stage = null;
  if (svc.build) {
    const df = join(svc.build.context, svc.build.dockerfile ?? 'Dockerfile');
    r.ok(existsSync(df), `${name}: build dockerfile ${df} does not exist`);
    r.ok(svc.build.context === ROOT, `${name}: build context ${svc.build.context} is not the repository root`);
    stage = stages.get(svc.build.target);
    r.ok(stage && stage.bins.length + (stage.cmd ? 1 : 0) > 0,
      `${name}: build target ${svc.build.target} is not a runtime stage of deploy/docker/Dockerfile`);
    for (const a of Object.keys(svc.build.args ?? {}))
      r.fail(`${name}: build arg ${a}: the Dockerfile's targets take no build args`);
  }
  // No secret is literal in the file: secret-looking variables and DSN passwords.
  for (const [k, v] of Object.entries(env)) {
    if (SECRET_NAME.test(k)) r.fail(`${name}: ${k} is a secret set literally (use a file in the secrets volume)`);
    r.ok(!/password\s*=/i.test(String(v)), `${name}: ${k} holds a password`);
  }
  if (!stage) {
    // Third-party images (postgres): a health check, a named volume for data.
    r.ok(svc.healthcheck?.test, `${name}: no healthcheck`);
    continue;
  }
  const progs = programsOf(svc, stage);
  r.ok(progs.length > 0, `${name}: runs no known program`);
  const known = new Map();
  for (const p of progs) {
    if (PROGRAMS[p]) for (const [k, v] of configTable(p)) known.set(k, v);
    else for (const k of scriptVars(p)) known.set(k, { def: '' });
    // A script that runs a program passes its environment on.
    if (SCRIPTS[p]) for (const q of Object.keys(PROGRAMS))
      if (new RegExp(`(^|\\s)${q}\\s`, 'm').test(readFileSync(join(ROOT, SCRIPTS[p]), 'utf8')))
        for (const [k, v] of configTable(q)) known.set(k, v);
  }
  for (const k of Object.keys(env))
    r.ok(known.has(k), `${name}: ${k} is in no configuration table of ${progs.join(', ')}`);
  // Stage ENV must also be real configuration.
  for (const k of Object.keys(stage.env))
    r.ok(known.has(k) || !progs.some((p) => PROGRAMS[p]),
      `${name}: image ENV ${k} is in no configuration table of ${progs.join(', ')}`);
  const eff = { ...stage.env, ...env };
  const cmdText = JSON.stringify(svc.command ?? '');
  // Required: every variable whose default only works on one machine (loopback, relative paths)
  // and has no safe default in a container.
  for (const [k, v] of known) {
    if (v.def === null) r.ok(k in eff, `${name}: required ${k} is not set`);
  }
  for (const m of mounts(svc)) {
    if (!m.source.startsWith('/') && !m.source.startsWith('.'))
      r.ok(declaredVolumes.has(m.source), `${name}: volume ${m.source} is not declared`);
  }
  // Files named by the configuration are inside a mounted volume.
  const dsn = eff.RS_PG_DSN;
  if (dsn !== undefined) {
    r.ok(/host=postgres\b/.test(dsn), `${name}: RS_PG_DSN does not name host=postgres`);
    const pf = dsn.match(/passfile=(\S+)/)?.[1];
    r.ok(pf && mountFor(svc, pf), `${name}: RS_PG_DSN's passfile is not in a mounted volume`);
    r.ok(reaches(name, 'postgres'), `${name}: uses PostgreSQL but does not depend on postgres`);
  }
  const svcDef = SERVICES[name];
  if (!svcDef) continue;
  // The five services.
  r.ok(progs.includes(svcDef.program), `${name}: does not run ${svcDef.program}`);
  const table = configTable(svcDef.program);
  for (const [k, v] of table)
    if (/127\.0\.0\.1/.test(v.def ?? '') && k !== 'RS_RPC_TRANSPORT')
      r.ok(k in eff, `${name}: ${k} must be set in a container (its default ${v.def} is loopback)`);
  const listen = hostPort(eff[svcDef.listen]);
  r.ok(listen && listen.host === '0.0.0.0', `${name}: ${svcDef.listen}=${eff[svcDef.listen]} must bind 0.0.0.0`);
  if (svcDef.pub) r.ok(hostPort(eff[svcDef.pub])?.host === '0.0.0.0', `${name}: ${svcDef.pub} must bind 0.0.0.0`);
  // The metrics listener is scraped over the compose network (prometheus.yml's compose jobs).
  if (svcDef.metrics) r.ok(hostPort(eff[svcDef.metrics])?.host === '0.0.0.0', `${name}: ${svcDef.metrics}=${eff[svcDef.metrics]} must bind 0.0.0.0`);
  // The image's health check asks the port the service listens on.
  const hport = stage.health && hostPort(stage.health.find((a) => /:\d+$/.test(a)) ??
    `${stage.health[1]}:${stage.health[2]}`);
  r.ok(stage.health && hport?.port === listen?.port,
    `${name}: HEALTHCHECK ${JSON.stringify(stage.health)} does not probe port ${listen?.port}`);
  for (const [k, target] of Object.entries(svcDef.dials)) {
    const hp = hostPort(eff[k]);
    const tdef = SERVICES[target];
    const tenv = { ...(stages.get(services[target]?.build?.target)?.env ?? {}), ...(services[target]?.environment ?? {}) };
    const tport = hostPort(tenv[k === 'RS_INGEST_PUB_URL' ? tdef.pub : tdef.listen])?.port;
    r.ok(hp && hp.host === target && hp.port === tport,
      `${name}: ${k}=${eff[k]} does not reach ${target}'s listening port ${tport}`);
  }
  r.ok(svc.restart === 'unless-stopped' || svc.restart === 'always', `${name}: no restart policy`);
  r.ok(reaches(name, 'migrate', 'service_completed_successfully'),
    `${name}: does not wait for the migrations`);
  if (svcDef.models) {
    const m = mountFor(svc, eff.RS_MODEL_DIR ?? '');
    r.ok(m && m.source === 'models' && m.ro, `${name}: RS_MODEL_DIR is not the models volume read-only`);
    r.ok(reaches(name, 'trainer', 'service_completed_successfully'),
      `${name}: does not wait for the trainer's first version`);
  }
  if (name === 'ingest') {
    const m = mountFor(svc, eff.RS_INGEST_SPOOL_DIR ?? '');
    r.ok(m && !m.ro && declaredVolumes.has(m.source), 'ingest: RS_INGEST_SPOOL_DIR is not a writable named volume');
  }
  if (name === 'gateway') {
    r.ok(eff.RS_GATEWAY_UI_DIR && stage.copies.some((c) => c.includes('--from=ui') && c.endsWith(eff.RS_GATEWAY_UI_DIR)),
      'gateway: RS_GATEWAY_UI_DIR is not the web UI the image carries');
    r.ok(eff.RS_SESSION_KEY_FILE && mountFor(svc, eff.RS_SESSION_KEY_FILE), 'gateway: RS_SESSION_KEY_FILE not in a volume');
    r.ok(/export RS_ADMIN_TOKEN=.*\/secrets\/admin-token/.test(cmdText), 'gateway: RS_ADMIN_TOKEN is not read from the secrets volume');
    const ports = (svc.ports ?? []).map((p) => {
      if (typeof p === 'object') return p;
      const m = String(p).match(/^(?:([\d.]+):)?(\d+):(\d+)(?:\/tcp)?$/);
      return m ? { host_ip: m[1], published: m[2], target: m[3] } : null;
    });
    r.ok(ports.length === 1 && ports[0] && ports[0].host_ip === '127.0.0.1' && String(ports[0].published) === '8080' &&
      Number(ports[0].target) === listen?.port, `gateway: must publish 127.0.0.1:8080 -> ${listen?.port}: ${JSON.stringify(svc.ports)}`);
    for (const t of ['ingest', 'feature', 'candidate', 'ranking'])
      r.ok(dependsOn(svc)[t]?.condition === 'service_healthy', `gateway: does not wait for ${t} to be healthy`);
    r.ok(reaches(name, 'accounts', 'service_completed_successfully'), 'gateway: does not wait for the accounts job');
  } else {
    r.ok(!svc.ports, `${name}: publishes a port on the host`);
  }
}
// The jobs up.sh runs, in order.
for (const [job, after] of [['secrets', null], ['migrate', 'postgres'], ['trainer', 'migrate'], ['accounts', 'trainer']]) {
  r.ok(services[job] && !services[job].restart, `${job}: missing, or restarts (a one-shot job)`);
  if (after) r.ok(reaches(job, after), `${job}: does not run after ${after}`);
}
r.ok(reaches('postgres', 'secrets', 'service_completed_successfully'), 'postgres: starts before the secrets exist');
r.ok(/pipeline/.test(readFileSync(join(ROOT, SCRIPTS['rs-trainer-setup']), 'utf8')), 'trainer: does not run rs-train pipeline');
const tm = mounts(services.trainer ?? {}).find((m) => m.source === 'models');
r.ok(tm && !tm.ro && tm.target === (services.trainer?.environment?.RS_MODEL_DIR), 'trainer: does not write RS_MODEL_DIR into the models volume');
const pg = services.postgres ?? {};
r.ok(mounts(pg).some((m) => m.target === '/var/lib/postgresql/data' && declaredVolumes.has(m.source)), 'postgres: data not on a named volume');
r.ok(pg.environment?.POSTGRES_PASSWORD_FILE && mountFor(pg, pg.environment.POSTGRES_PASSWORD_FILE), 'postgres: password not from the secrets volume');
r.done();
