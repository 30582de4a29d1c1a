// check-k8s.mjs [--kustomize FILE.yaml OVERLAY]...: render deploy/k8s/overlays/{dev,prod}
// (render.mjs), validate every object against the Kubernetes schemas (kubernetes-models), and
// check the manifests against the services' real configuration: variables in their rs_cfg
// tables, listen ports = container ports = Service ports, dial URLs reach a Service that selects
// the right pods, probe paths are gateway routes, probe ports are the listen ports, selectors
// match, HPAs/PDBs point at workloads, the feature pods dial every ingest replica, and the
// NetworkPolicies allow exactly the call graph the configuration names. With --kustomize, the
// render must equal kubectl kustomize's output for that overlay.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SERVICES, PROGRAMS, METRICS_ROUTES, configTable, scriptVars, loadYamlDocs, hostPort, reporter } from './lib.mjs';
import { render } from './render.mjs';

const r = reporter('k8s');
// The keys of recsys-secrets docs/DEPLOY.md tells how to make.
const SECRET_KEYS = new Set(['pg-dsn', 'pg-password', 'admin-token', 'session-key', 'demo-password', 'admin-password', 'api-key']);
const NAME = 'app.kubernetes.io/name';
const routes = [...readFileSync(join(ROOT, 'services/gateway/router.c'), 'utf8')
  .matchAll(/\{"GET",\s*"([^"]+)"/g)].map((m) => m[1]);

const canon = (v) => (Array.isArray(v) ? v.map(canon) : v && typeof v === 'object'
  ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
const keyOf = (o) => `${o.kind}/${o.metadata?.name}`;

async function validate(overlay, objs) {
  for (const o of objs) {
    const group = o.apiVersion.includes('/') ? o.apiVersion : 'v1';
    let Model;
    try { Model = (await import(`kubernetes-models/${group}`))[o.kind]; } catch { Model = null; }
    if (!r.ok(Model, `${overlay}: no schema for ${o.apiVersion} ${o.kind}`)) continue;
    try { new Model(o).validate(); r.ok(true); } catch (e) { r.fail(`${overlay}: ${keyOf(o)}: ${e.message}`); }
  }
}

function podSpecs(objs) {
  const out = [];
  for (const o of objs) {
    const t = o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template : o.spec?.template;
    if (t?.spec?.containers) out.push({ obj: o, tmpl: t, spec: t.spec });
  }
  return out;
}
const selects = (sel, labels) => Object.entries(sel ?? {}).every(([k, v]) => labels?.[k] === v);

function envOf(c, objs) {
  const env = {};
  for (const ef of c.envFrom ?? []) {
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ef.configMapRef?.name);
    if (r.ok(cm, `envFrom ${JSON.stringify(ef)} names no ConfigMap`)) Object.assign(env, cm.data);
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.secretKeyRef) {
      const s = e.valueFrom.secretKeyRef;
      r.ok(s.name === 'recsys-secrets' && SECRET_KEYS.has(s.key), `${e.name}: secret ${s.name}/${s.key} is not one of recsys-secrets' documented keys`);
      env[e.name] = { secret: s.key };
    } else {
      env[e.name] = e.value;
    }
  }
  return env;
}

// A service's metrics address as its ConfigMap sets it.
function metricsAddr(objs, svc) {
  const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${svc}-config`);
  return cm?.data?.[SERVICES[svc].metrics];
}

function checkOverlay(overlay, objs) {
  const byKind = (k) => objs.filter((o) => o.kind === k);
  r.ok(!objs.some((o) => o.kind === 'Secret'), `${overlay}: a Secret is in the manifests (recsys-secrets is made out of band)`);
  const pods = podSpecs(objs);
  const svcs = byKind('Service');
  for (const { obj, tmpl, spec } of pods) {
    const id = `${overlay}: ${keyOf(obj)}`;
    if (obj.spec.selector)
      r.ok(selects(obj.spec.selector.matchLabels, tmpl.metadata.labels), `${id}: selector does not match its pod labels`);
    for (const v of spec.volumes ?? []) for (const it of v.secret?.items ?? [])
      r.ok(v.secret.secretName === 'recsys-secrets' && SECRET_KEYS.has(it.key), `${id}: secret volume key ${it.key} is not documented`);
    const isJob = obj.kind === 'Job' || obj.kind === 'CronJob';
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      r.ok(!/:latest$/.test(c.image), `${id}: image ${c.image} has no released tag after the overlay`);
      if (c.image.includes('postgres')) continue;
      let svc = c.image.match(/recsys\/(\w+):/)?.[1];
      if (!r.ok(svc, `${id}: image ${c.image} is not a recsys image`)) continue;
      r.ok(isJob || !c.command, `${id}: a service container overrides its image's command`);
      const env = envOf(c, objs);
      // The programs the container runs (its command's rs-* words, else the image's) and their
      // configuration.
      const words = (c.command ?? [`rs-${svc}`]).join(' ').split(/[\s;&|()"']+/);
      const progs = [...new Set(words.filter((w) => PROGRAMS[w] || w === 'rs-trainer-setup'))];
      const known = new Map();
      if (!r.ok(progs.length, `${id}: ${c.name} runs no known program`)) continue;
      for (const p of progs) {
        if (p === 'rs-trainer-setup') {
          for (const k of scriptVars(p)) known.set(k, { def: '' });
          for (const [k, v] of configTable('rs-train')) known.set(k, v);
        } else {
          for (const [k, v] of configTable(p)) known.set(k, v);
        }
      }
      if (isJob && svc !== 'trainer') svc = 'job';
      // Kubernetes expands $(VAR) in command and args: such a variable is used by the pod spec.
      for (const m of [...(c.command ?? []), ...(c.args ?? [])].join(' ').matchAll(/\$\((\w+)\)/g))
        known.set(m[1], { def: '' });
      for (const k of Object.keys(env)) r.ok(known.has(k), `${id}: ${k} is in no configuration table of ${progs.join(", ")}`);
      r.ok(env.RS_PG_DSN?.secret === 'pg-dsn', `${id}: RS_PG_DSN is not the secret pg-dsn`);
      const mounts = Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.mountPath, m]));
      const vols = Object.fromEntries((spec.volumes ?? []).map((v) => [v.name, v]));
      if (svc === 'job') continue; // a one-shot step (accounts): its variables are checked above
      if (svc === 'trainer') {
        const args = (c.command ?? []).join(' ');
        const dir = env.RS_MODEL_DIR ?? args.match(/--models-dir (\S+)/)?.[1];
        const m = mounts[dir];
        r.ok(m && !m.readOnly && vols[m.name]?.persistentVolumeClaim?.claimName === 'recsys-models',
          `${id}: does not publish into the recsys-models volume`);
        r.ok(/rs-train pipeline|rs-trainer-setup/.test(args), `${id}: does not run rs-train pipeline`);
        continue;
      }
      const def = SERVICES[svc];
      if (!r.ok(def, `${id}: ${svc} is not one of the five services`)) continue;
      for (const [k, v] of configTable(def.program))
        if (/127\.0\.0\.1/.test(v.def ?? '')) r.ok(k in env, `${id}: ${k} must be set in a cluster (default ${v.def})`);
      const listen = hostPort(env[def.listen]);
      r.ok(listen?.host === '0.0.0.0', `${id}: ${def.listen} must bind 0.0.0.0`);
      const cport = (c.ports ?? []).find((p) => p.containerPort === listen?.port);
      r.ok(cport, `${id}: ${def.listen} port ${listen?.port} is not a container port`);
      // A Service selecting these pods exposes the listen port.
      const mine = svcs.filter((s) => selects(s.spec.selector, tmpl.metadata.labels));
      r.ok(mine.some((s) => s.spec.ports.some((p) => p.port === listen?.port && (p.targetPort === cport?.name || p.targetPort === listen?.port))),
        `${id}: no Service exposes ${listen?.port}`);
      // The metrics listener: bound for the scrape, a container port, and the pod's scrape
      // annotations naming it (the gateway is scraped on its own port, also by annotation).
      const ann = tmpl.metadata.annotations ?? {};
      let mport = null;
      if (def.metrics) {
        const mh = hostPort(`tcp://${env[def.metrics] ?? ''}`);
        r.ok(mh?.host === '0.0.0.0', `${id}: ${def.metrics} must bind 0.0.0.0 (Prometheus scrapes the pod)`);
        mport = (c.ports ?? []).find((p) => p.containerPort === mh?.port);
        r.ok(mport, `${id}: ${def.metrics} port ${mh?.port} is not a container port`);
        r.ok(ann['prometheus.io/port'] === String(mh?.port), `${id}: prometheus.io/port ${ann['prometheus.io/port']} is not ${def.metrics}'s port`);
      } else {
        r.ok(ann['prometheus.io/port'] === String(listen?.port), `${id}: prometheus.io/port is not the listen port`);
      }
      r.ok(ann['prometheus.io/scrape'] === 'true' && ann['prometheus.io/path'] === '/metrics',
        `${id}: the pod template lacks prometheus.io/scrape "true" and path /metrics`);
      // Probes.
      const portOk = (p) => p === cport?.name || p === listen?.port;
      const metricsPortOk = (p) => mport && (p === mport.name || p === mport.containerPort);
      for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const pr = c[kind];
        if (!pr) continue;
        if (pr.httpGet && metricsPortOk(pr.httpGet.port)) {
          r.ok(METRICS_ROUTES.includes(pr.httpGet.path), `${id}: ${kind} path ${pr.httpGet.path} is not a route of the metrics listener`);
        } else if (pr.httpGet) {
          r.ok(def.listen === 'RS_GATEWAY_HTTP' && routes.includes(pr.httpGet.path), `${id}: ${kind} path ${pr.httpGet.path} is not a gateway route`);
          r.ok(portOk(pr.httpGet.port), `${id}: ${kind} port ${pr.httpGet.port} is not the listen port`);
        } else if (pr.exec) {
          const u = pr.exec.command.find((a) => /^tcp:\/\//.test(a));
          r.ok(pr.exec.command[0] === 'rs-probe' && hostPort(u)?.port === listen?.port,
            `${id}: ${kind} ${JSON.stringify(pr.exec.command)} does not probe the listen port`);
        } else if (pr.tcpSocket) {
          r.ok(portOk(pr.tcpSocket.port), `${id}: ${kind} tcpSocket ${pr.tcpSocket.port} is not the listen port`);
        }
      }
      r.ok(c.readinessProbe && c.livenessProbe, `${id}: needs readiness and liveness probes`);
      r.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory,
        `${id}: needs cpu/memory requests and a memory limit`);
      if (def.pub) {
        r.ok(hostPort(env[def.pub])?.host === '0.0.0.0', `${id}: ${def.pub} must bind 0.0.0.0`);
        r.ok((c.ports ?? []).some((p) => p.containerPort === hostPort(env[def.pub])?.port), `${id}: pub port is not a container port`);
      }
      if (def.models) {
        const m = mounts[env.RS_MODEL_DIR];
        r.ok(m && m.readOnly && vols[m.name]?.persistentVolumeClaim?.claimName === 'recsys-models',
          `${id}: RS_MODEL_DIR is not the recsys-models volume, read-only`);
      }
      // Dial URLs reach a Service on the target's listen port that selects the target's pods.
      for (const [k, target] of Object.entries(def.dials)) {
        const urls = String(env[k] ?? '').split(',').filter(Boolean);
        if (k === 'RS_INGEST_PUB_URL') {
          const ss = objs.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'ingest');
          const head = svcs.find((s) => s.metadata.name === ss?.spec.serviceName);
          const want = Array.from({ length: ss?.spec.replicas ?? 0 }, (_, i) => `tcp://ingest-${i}.${head?.metadata.name}:7101`);
          r.ok(head?.spec.clusterIP === 'None' && head.spec.ports.some((p) => p.port === 7101),
            `${overlay}: the ingest StatefulSet's serviceName is not a headless Service with port 7101`);
          r.ok(JSON.stringify(urls) === JSON.stringify(want),
            `${id}: RS_INGEST_PUB_URL ${urls.join(',')} is not every ingest replica (${want.join(',')})`);
          continue;
        }
        const hp = hostPort(urls[0]);
        const s = svcs.find((x) => x.metadata.name === hp?.host);
        const tpod = pods.find((p) => p.tmpl.metadata.labels?.[NAME] === target);
        r.ok(urls.length === 1 && s && s.spec.ports.some((p) => p.port === hp.port) && tpod &&
          selects(s.spec.selector, tpod.tmpl.metadata.labels), `${id}: ${k}=${env[k]} does not reach ${target}`);
      }
    }
  }
  for (const h of byKind('HorizontalPodAutoscaler')) {
    const t = objs.find((o) => o.kind === h.spec.scaleTargetRef.kind && o.metadata.name === h.spec.scaleTargetRef.name);
    r.ok(t, `${overlay}: HPA ${h.metadata.name} targets nothing`);
    r.ok(h.spec.minReplicas <= h.spec.maxReplicas, `${overlay}: HPA ${h.metadata.name} min > max`);
    r.ok(t?.spec.template.spec.containers.every((c) => c.resources?.requests?.cpu), `${overlay}: HPA ${h.metadata.name}: target has no CPU request`);
  }
  for (const p of byKind('PodDisruptionBudget'))
    r.ok(pods.some((x) => selects(p.spec.selector.matchLabels, x.tmpl.metadata.labels)), `${overlay}: PDB ${p.metadata.name} selects no pods`);
  for (const svc of Object.keys(SERVICES)) {
    r.ok(pods.some((p) => p.tmpl.metadata.labels?.[NAME] === svc), `${overlay}: no workload runs ${svc}`);
    r.ok(byKind('PodDisruptionBudget').some((p) => p.spec.selector.matchLabels[NAME] === svc), `${overlay}: ${svc} has no PDB`);
    if (svc !== 'ingest')
      r.ok(byKind('HorizontalPodAutoscaler').some((h) => h.spec.scaleTargetRef.name === svc), `${overlay}: ${svc} has no HPA`);
  }
  r.ok(byKind('CronJob').some((c) => /pipeline/.test(c.spec.jobTemplate.spec.template.spec.containers[0].command.join(' '))),
    `${overlay}: no CronJob runs rs-train pipeline`);
  const pvc = objs.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === 'recsys-models');
  r.ok(pvc?.spec.accessModes.includes('ReadWriteMany'), `${overlay}: recsys-models is not ReadWriteMany`);
  checkNetwork(overlay, objs);
}

// Allowed (from -> to:port) among the app names, from the NetworkPolicies: a connection needs an
// egress rule at the source (or no Egress policy there) and an ingress rule at the destination.
function checkNetwork(overlay, objs) {
  const nps = objs.filter((o) => o.kind === 'NetworkPolicy');
  const apps = [...new Set(podSpecs(objs).map((p) => p.tmpl.metadata.labels?.[NAME]))];
  const labels = (a) => ({ [NAME]: a });
  const match = (sel, a) => {
    if (!sel) return false;
    const okLabels = selects(sel.matchLabels, labels(a));
    const okExpr = (sel.matchExpressions ?? []).every((e) => e.operator === 'In' && e.key === NAME && e.values.includes(a));
    return okLabels && okExpr;
  };
  const applies = (np, a, type) => match(np.spec.podSelector, a) && np.spec.policyTypes.includes(type);
  const external = 'postgres-external';
  const hasPg = apps.includes('postgres');
  const peerIs = (peer, a) => (a === external ? !!peer.ipBlock : !peer.ipBlock && !peer.namespaceSelector && match(peer.podSelector, a));
  const ruleAllows = (rules, dir, other, port) => rules.some((rule) => {
    const peers = rule[dir];
    const peerOk = peers === undefined ? true : peers.some((p) => peerIs(p, other));
    const portOk = rule.ports === undefined || rule.ports.some((p) => p.port === port && (p.protocol ?? 'TCP') === 'TCP');
    return peerOk && portOk;
  });
  const allowed = (from, to, port) => {
    const eg = nps.filter((np) => applies(np, from, 'Egress'));
    const egOk = eg.some((np) => ruleAllows(np.spec.egress ?? [], 'to', to, port));
    if (to === external) return egOk;
    const ing = nps.filter((np) => applies(np, to, 'Ingress'));
    return egOk && ing.some((np) => ruleAllows(np.spec.ingress ?? [], 'from', from, port));
  };
  // Expected: from the configuration tables.
  const want = new Set();
  const pg = hasPg ? 'postgres' : external;
  for (const [svc, def] of Object.entries(SERVICES)) {
    for (const [k, target] of Object.entries(def.dials)) {
      const tdef = SERVICES[target];
      const port = k === 'RS_INGEST_PUB_URL' ? 7101 : { ingest: 7100, feature: 7200, candidate: 7300, ranking: 7400 }[target];
      r.ok(tdef, `unknown target ${target}`);
      want.add(`${svc}->${target}:${port}`);
    }
    if (configTable(def.program).has('RS_PG_DSN')) want.add(`${svc}->${pg}:5432`);
  }
  want.add(`trainer->${pg}:5432`);
  const ports = [5432, 7100, 7101, 7200, 7300, 7400, 8080];
  const got = new Set();
  const targets = hasPg ? apps : [...apps, external];
  for (const from of apps) for (const to of targets) for (const port of ports)
    if (from !== to && to !== 'gateway' && allowed(from, to, port)) got.add(`${from}->${to}:${port}`);
  for (const w of want) r.ok(got.has(w), `${overlay}: network policies block ${w}, which the configuration needs`);
  for (const g of got) r.ok(want.has(g), `${overlay}: network policies allow ${g}, which no configuration names`);
  // Nothing reaches a backend or PostgreSQL from outside the namespace, except Prometheus (its
  // pods in the namespace monitoring) on a backend's metrics port and nothing else; the gateway
  // is open on 8080 only.
  const isProm = (p) => !p.ipBlock && p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring' &&
    p.podSelector?.matchLabels?.[NAME] === 'prometheus' && !p.namespaceSelector.matchExpressions && !p.podSelector.matchExpressions;
  for (const a of apps.filter((x) => x !== 'gateway')) {
    const ing = nps.filter((np) => applies(np, a, 'Ingress'));
    const mp = SERVICES[a]?.metrics ? hostPort(`tcp://${metricsAddr(objs, a) ?? ''}`)?.port : undefined;
    const scrapeRule = (rule) => mp !== undefined && rule.from?.length && rule.from.every(isProm) &&
      rule.ports?.length === 1 && rule.ports[0].port === mp && (rule.ports[0].protocol ?? 'TCP') === 'TCP';
    r.ok(ing.every((np) => (np.spec.ingress ?? []).every((rule) => scrapeRule(rule) || (rule.from && rule.from.every((p) => p.podSelector && !p.namespaceSelector && !p.ipBlock)))),
      `${overlay}: ${a} accepts connections from outside the call graph`);
    if (mp !== undefined)
      r.ok(ing.some((np) => (np.spec.ingress ?? []).some(scrapeRule)), `${overlay}: network policies block Prometheus from ${a}'s metrics port ${mp}`);
  }
  r.ok(nps.some((np) => Object.keys(np.spec.podSelector).length === 0 && ['Ingress', 'Egress'].every((t) => np.spec.policyTypes.includes(t)) && !np.spec.ingress && !np.spec.egress),
    `${overlay}: no default-deny policy`);
}

const kustomized = {};
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--kustomize') { kustomized[process.argv[i + 2]] = process.argv[i + 1]; i += 2; }
}
for (const overlay of ['dev', 'prod']) {
  let objs;
  try { objs = render(join(ROOT, 'deploy/k8s/overlays', overlay)); } catch (e) { r.fail(`${overlay}: render: ${e.message}`); continue; }
  r.ok(objs.length > 0, `${overlay}: renders nothing`);
  await validate(overlay, objs);
  checkOverlay(overlay, objs);
  if (kustomized[overlay]) {
    const theirs = new Map(loadYamlDocs(readFileSync(kustomized[overlay], 'utf8')).map((o) => [keyOf(o), JSON.stringify(canon(o))]));
    const ours = new Map(objs.map((o) => [keyOf(o), JSON.stringify(canon(o))]));
    for (const [k, v] of ours) r.ok(theirs.get(k) === v, `${overlay}: ${k} differs from kubectl kustomize's render`);
    for (const k of theirs.keys()) r.ok(ours.has(k), `${overlay}: kubectl kustomize renders ${k}, render.mjs does not`);
  }
  console.log(`k8s: ${overlay}: ${objs.length} objects`);
}
r.done();
