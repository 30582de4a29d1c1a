// check-observability.mjs: deploy/observability against the code. The Prometheus config and
// alert rules parse, the dashboard is valid JSON, and every metric and label they query is one
// the services export: names from rs_metrics_counter/gauge/histogram calls (histograms also as
// _bucket/_sum/_count), labels from the label strings in those files, plus svc (added by the
// gateway's /metrics merge), le, and Prometheus' own up/job/instance/namespace/pod.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, readYaml, reporter, hostPort, configTable } from './lib.mjs';

const r = reporter('observability');
const OBS = join(ROOT, 'deploy/observability');

const exported = new Map(); // name -> type
const labelKeys = new Set(['svc', 'le', 'job', 'instance', 'namespace', 'pod']);
for (const dir of ['common', 'services']) {
  for (const f of readdirSync(join(ROOT, dir), { recursive: true }).filter((x) => x.endsWith('.c'))) {
    const src = readFileSync(join(ROOT, dir, f), 'utf8');
    for (const m of src.matchAll(/rs_metrics_(counter|gauge|histogram)\(\s*"(rs_\w+)"/g)) {
      exported.set(m[2], m[1]);
      if (m[1] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.set(m[2] + s, 'series');
    }
    if (/rs_metrics_(counter|gauge|histogram)\(/.test(src))
      for (const m of src.matchAll(/[(", ]([a-z_]+)=\\"/g)) labelKeys.add(m[1]);
  }
}
r.ok(exported.size > 20, `only ${exported.size} metrics found in the code`);

const alerts = readYaml(join(OBS, 'alerts.yml'))[0];
const recorded = new Set(alerts.groups.flatMap((g) => g.rules.filter((x) => x.record).map((x) => x.record)));
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);

// PromQL, just enough: label keys from {selectors} and by/without/on/ignoring (...) groups;
// metric names are the identifiers left that are not functions, keywords or numbers.
function checkExpr(where, expr) {
  let e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, '');
  const labels = [];
  e = e.replace(/\{([^}]*)\}/g, (_, body) => {
    for (const m of body.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.push(m[1]);
    return ' ';
  });
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
    if (w.startsWith('rs_')) r.ok(exported.has(w), `${where}: metric ${w} is not exported by any service`);
    else if (w.includes(':')) r.ok(recorded.has(w), `${where}: recording rule ${w} is not defined`);
    else r.ok(w === 'up', `${where}: ${w} is not a metric the services or Prometheus export`);
  }
  r.ok(metrics > 0, `${where}: queries no metric: ${expr}`);
}

// Prometheus config.
const prom = readYaml(join(OBS, 'prometheus.yml'))[0];
for (const f of prom.rule_files) r.ok(readdirSync(OBS).includes(f), `prometheus.yml: rule file ${f} is missing`);
const routes = [...readFileSync(join(ROOT, 'services/gateway/router.c'), 'utf8').matchAll(/\{"GET",\s*"([^"]+)"/g)].map((m) => m[1]);
const gwPort = hostPort(configTable('rs-gateway').get('RS_GATEWAY_HTTP').def).port;
for (const job of prom.scrape_configs) {
  r.ok(routes.includes(job.metrics_path ?? '/metrics'), `prometheus.yml: ${job.job_name} scrapes ${job.metrics_path}, not a gateway route`);
  for (const sc of job.static_configs ?? [])
    for (const t of sc.targets) r.ok(hostPort(t)?.port === gwPort, `prometheus.yml: target ${t} is not the gateway port ${gwPort}`);
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
console.log(`observability: ${exported.size} exported series names, ${nalerts} alerts, ${nexpr} dashboard queries`);
r.done();
