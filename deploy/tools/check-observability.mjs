// check-observability.mjs: deploy/observability against the code. The Prometheus config and
// alert rules parse, the dashboard is valid JSON, and every metric and label they query is one
// that a scraped service exports: names from rs_metrics_counter/gauge/histogram calls (histograms
// also as _bucket/_sum/_count) per service (its services/<svc> sources, and the common/ modules
// it uses: COMMON_USERS), labels from the label strings in those files, plus svc (every /metrics
// adds it), le, and Prometheus' own up/job/instance/namespace/pod. A query that names
// svc="<name>" must use metrics that service exports; a metric with no svc selector must be
// exported by some service; and every service that exports a queried metric is scraped on its
// own listener (prometheus.yml), the gateway's job keeping only svc="gateway" series from its
// merged /metrics so no backend series is counted twice.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SERVICES, readYaml, reporter, hostPort, configTable } from './lib.mjs';

const r = reporter('observability');
const OBS = join(ROOT, 'deploy/observability');

// common/ files that register metrics, and the call in a service's sources that makes the
// service register them (a common file with metrics missing here fails the check).
const COMMON_USERS = {
  'rs_rpc.c': /rs_rpc_server_(start|open)\(/, // the RPC server's per-method series
  'rs_rpc_sp.c': /rs_rpc_server_(start|open)\(/,
  'rs_model.c': /rs_model_(watch|slot)_\w+\(/, // the active version and the version cache
};
const metricsOf = (src) => [...src.matchAll(/rs_metrics_(counter|gauge|histogram)\(\s*"(rs_\w+)"/g)]
  .flatMap((m) => (m[1] === 'histogram' ? ['', '_bucket', '_sum', '_count'].map((x) => m[2] + x) : [m[2]]));
const cFiles = (dir) => readdirSync(join(ROOT, dir), { recursive: true }).filter((x) => x.endsWith('.c')).map((x) => join(ROOT, dir, x));

const exported = new Map(); // name -> Set of services exporting it
const labelKeys = new Set(['svc', 'le', 'job', 'instance', 'namespace', 'pod']);
const common = new Map(); // common file -> its metric names
for (const f of cFiles('common')) {
  const src = readFileSync(f, 'utf8');
  const names = metricsOf(src);
  if (!names.length) continue;
  const base = f.split('/').pop();
  r.ok(COMMON_USERS[base], `common/${base} registers metrics but check-observability.mjs does not know which services use it`);
  common.set(base, names);
  for (const m of src.matchAll(/[(", ]([a-z_]+)=\\"/g)) labelKeys.add(m[1]);
}
for (const svc of Object.keys(SERVICES)) {
  const srcs = cFiles(`services/${svc}`).map((f) => readFileSync(f, 'utf8'));
  const names = srcs.flatMap(metricsOf);
  for (const src of srcs)
    if (/rs_metrics_(counter|gauge|histogram)\(/.test(src))
      for (const m of src.matchAll(/[(", ]([a-z_]+)=\\"/g)) labelKeys.add(m[1]);
  for (const [base, ns] of common) if (srcs.some((src) => COMMON_USERS[base]?.test(src))) names.push(...ns);
  for (const n of names) {
    if (!exported.has(n)) exported.set(n, new Set());
    exported.get(n).add(svc);
  }
}
r.ok(exported.size > 20, `only ${exported.size} metrics found in the code`);

const alerts = readYaml(join(OBS, 'alerts.yml'))[0];
const recorded = new Set(alerts.groups.flatMap((g) => g.rules.filter((x) => x.record).map((x) => x.record)));
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);

const queriedBy = new Set(); // services whose metrics the rules and the dashboard query

// PromQL, just enough: label keys from {selectors} and by/without/on/ignoring (...) groups;
// metric names are the identifiers left that are not functions, keywords or numbers.
function checkExpr(where, expr) {
  let e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, '');
  const labels = [];
  e = e.replace(/\{([^}]*)\}/g, (_, body) => {
    for (const m of body.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.push(m[1]);
    return ' ';
  });
  // metric{..., svc="<name>", ...}: that service must export the metric.
  for (const m of expr.matchAll(/\b(rs_\w+)\s*\{([^}]*)\}/g)) {
    const svc = m[2].match(/\bsvc\s*=\s*"(\w+)"/)?.[1];
    if (svc) r.ok(exported.get(m[1])?.has(svc), `${where}: ${m[1]}{svc="${svc}"}: ${svc} does not export ${m[1]}`);
  }
  e = e.replace(/\b(by|without|on|ignoring)\s*\(([^)]*)\)/g, (_, _k, body) => {
    labels.push(...body.split(',').map((x) => x.trim()).filter(Boolean));
    return ' ';
  });
  e = e.replace(/\$\w+/g, ' ').replace(/\b\d+(?:\.\d+)?(?:e[-+]?\d+)?\b/gi, ' ');
  for (const l of labels) r.ok(labelKeys.has(l), `${where}: label ${l} is not one the services export`);
  let metrics = 0;
  for (const m of e.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const w = m[0];
    if (KEYWORDS.has(w) || e.slice(m.index + w.length).trimStart()[0] === '(') continue;
    metrics++;
    if (w.startsWith('rs_')) {
      const by = exported.get(w);
      if (!r.ok(by, `${where}: metric ${w} is not exported by any service`)) continue;
      for (const svc of by) queriedBy.add(svc);
    }
    else if (w.includes(':')) r.ok(recorded.has(w), `${where}: recording rule ${w} is not defined`);
    else r.ok(w === 'up', `${where}: ${w} is not a metric the services or Prometheus export`);
  }
  r.ok(metrics > 0, `${where}: queries no metric: ${expr}`);
}

// Prometheus config: the gateway's jobs scrape its HTTP port on a gateway route and keep only
// svc="gateway"; the services' jobs scrape /metrics on each metrics listener's port.
const prom = readYaml(join(OBS, 'prometheus.yml'))[0];
for (const f of prom.rule_files) r.ok(readdirSync(OBS).includes(f), `prometheus.yml: rule file ${f} is missing`);
const routes = [...readFileSync(join(ROOT, 'services/gateway/router.c'), 'utf8').matchAll(/\{"GET",\s*"([^"]+)"/g)].map((m) => m[1]);
const gwPort = hostPort(configTable('rs-gateway').get('RS_GATEWAY_HTTP').def).port;
const metricsPort = Object.fromEntries(Object.entries(SERVICES).filter(([, d]) => d.metrics)
  .map(([svc, d]) => [svc, hostPort(configTable(d.program).get(d.metrics)?.def ?? '')?.port]));
const scraped = { k8s: new Set(), compose: new Set() };
for (const job of prom.scrape_configs) {
  const path = job.metrics_path ?? '/metrics';
  const keep = (job.relabel_configs ?? []).find((x) => x.action === 'keep' && x.source_labels?.[0] === '__meta_kubernetes_pod_label_app_kubernetes_io_name');
  const svcs = keep ? keep.regex.split('|') : (job.static_configs ?? []).flatMap((sc) => sc.targets.map((t) => hostPort(t)?.host));
  const where = job.kubernetes_sd_configs ? 'k8s' : 'compose';
  for (const svc of svcs) {
    if (!r.ok(SERVICES[svc], `prometheus.yml: ${job.job_name} scrapes ${svc}, not a service`)) continue;
    scraped[where].add(svc);
    if (svc === 'gateway') {
      r.ok(routes.includes(path), `prometheus.yml: ${job.job_name} scrapes ${path}, not a gateway route`);
      r.ok((job.metric_relabel_configs ?? []).some((m) => m.action === 'keep' && m.source_labels?.join() === 'svc' && m.regex === 'gateway'),
        `prometheus.yml: ${job.job_name} keeps the backends' series merged into the gateway's /metrics (count them twice)`);
    } else {
      r.ok(path === '/metrics', `prometheus.yml: ${job.job_name} scrapes ${path}, not the metrics listener's /metrics`);
      r.ok(!job.metric_relabel_configs, `prometheus.yml: ${job.job_name} drops series of ${svc}`);
    }
    r.ok(svcs.every((x) => (x === 'gateway') === (svc === 'gateway')), `prometheus.yml: ${job.job_name} mixes the gateway with other services`);
  }
  for (const sc of job.static_configs ?? [])
    for (const t of sc.targets) {
      const hp = hostPort(t);
      const want = hp?.host === 'gateway' ? gwPort : metricsPort[hp?.host];
      r.ok(want && hp.port === want, `prometheus.yml: target ${t} is not ${hp?.host}'s ${hp?.host === 'gateway' ? 'HTTP' : 'metrics'} port ${want}`);
    }
}
// Alert rules.
let nalerts = 0;
for (const g of alerts.groups) for (const rule of g.rules) {
  checkExpr(`alerts.yml ${rule.alert ?? rule.record}`, String(rule.expr));
  if (rule.alert) { nalerts++; r.ok(rule.labels?.severity && rule.annotations?.summary, `alerts.yml ${rule.alert}: needs severity and summary`); }
}
r.ok(nalerts >= 5, 'alerts.yml: fewer than 5 alerts');
// Grafana dashboard.
const dash = JSON.parse(readFileSync(join(OBS, 'grafana-dashboard.json'), 'utf8'));
const ids = new Set();
let nexpr = 0;
for (const p of dash.panels) {
  r.ok(!ids.has(p.id), `dashboard: duplicate panel id ${p.id}`);
  ids.add(p.id);
  for (const t of p.targets ?? []) { nexpr++; checkExpr(`dashboard "${p.title}"`, t.expr); }
}
r.ok(dash.uid && dash.title && nexpr >= 10, 'dashboard: needs uid, title and queries');
// Every service whose metrics are queried is scraped, in Kubernetes and in compose.
for (const svc of queriedBy)
  for (const where of ['k8s', 'compose']) r.ok(scraped[where].has(svc), `prometheus.yml: ${svc}'s metrics are queried but no ${where} job scrapes ${svc}`);
r.ok(queriedBy.size === Object.keys(SERVICES).length, `the rules and the dashboard query only ${[...queriedBy].join(', ')}`);
console.log(`observability: ${exported.size} exported series names, ${queriedBy.size} services queried, ${nalerts} alerts, ${nexpr} dashboard queries`);
r.done();
