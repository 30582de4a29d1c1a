// Prometheus text exposition format 0.0.4: a small, strict-enough parser for the gateway's
// /metrics (comments, HELP/TYPE, labels with escapes, NaN/+Inf/-Inf, optional timestamps).

export type Labels = Record<string, string>;
export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}
export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}
export type Metrics = Map<string, Family>;

function parseValue(s: string): number {
  if (s === 'NaN') return NaN;
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) throw new Error(`bad sample value "${s}"`);
  return v;
}

/** Labels inside `{...}` starting right after the brace; returns labels and the index after `}`. */
function parseLabels(line: string, start: number): [Labels, number] {
  const labels: Labels = {};
  let i = start;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return [labels, i + 1];
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`bad label set in "${line}"`);
    const key = line.slice(i, eq).trim();
    if (line[eq + 1] !== '"') throw new Error(`label ${key} value not quoted in "${line}"`);
    let j = eq + 2;
    let val = '';
    for (;;) {
      const c = line[j];
      if (c === undefined) throw new Error(`unterminated label value in "${line}"`);
      if (c === '\\') {
        const n = line[j + 1];
        val += n === 'n' ? '\n' : n === '"' ? '"' : n === '\\' ? '\\' : `\\${n ?? ''}`;
        j += 2;
        continue;
      }
      if (c === '"') break;
      val += c;
      j++;
    }
    labels[key] = val;
    i = j + 1;
  }
}

/** The family a sample belongs to: histogram/summary suffixes fold into their declared family. */
function familyOf(name: string, declared: Map<string, Family>): string {
  if (declared.has(name)) return name;
  for (const suf of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (name.endsWith(suf)) {
      const base = name.slice(0, -suf.length);
      if (declared.has(base)) return base;
    }
  }
  return name;
}

export function parseProm(text: string): Metrics {
  const fams: Metrics = new Map();
  const fam = (name: string): Family => {
    let f = fams.get(name);
    if (!f) {
      f = { name, type: 'untyped', help: '', samples: [] };
      fams.set(name, f);
    }
    return f;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line);
      if (m) {
        const f = fam(m[2]!);
        if (m[1] === 'TYPE') f.type = m[3]!.trim();
        else f.help = m[3]!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      }
      continue;
    }
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    let name: string;
    let labels: Labels = {};
    let rest: string;
    if (brace >= 0 && (space < 0 || brace < space)) {
      name = line.slice(0, brace);
      const [l, end] = parseLabels(line, brace + 1);
      labels = l;
      rest = line.slice(end).trim();
    } else {
      if (space < 0) throw new Error(`sample without value: "${line}"`);
      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    const value = parseValue(rest.split(/\s+/)[0] ?? '');
    fam(familyOf(name, fams)).samples.push({ name, labels, value });
  }
  return fams;
}

export interface Histogram {
  labels: Labels;
  /** upper bounds ascending, the last is +Inf; counts cumulative as exposed */
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

function keyOf(labels: Labels, skip: string): string {
  return Object.keys(labels)
    .filter((k) => k !== skip)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** Every histogram series of one family, grouped by its labels (without `le`). */
export function histograms(m: Metrics, family: string): Histogram[] {
  const f = m.get(family);
  if (!f) return [];
  const by = new Map<string, Histogram>();
  const get = (labels: Labels): Histogram => {
    const k = keyOf(labels, 'le');
    let h = by.get(k);
    if (!h) {
      const own = { ...labels };
      delete own.le;
      h = { labels: own, buckets: [], sum: 0, count: 0 };
      by.set(k, h);
    }
    return h;
  };
  for (const s of f.samples) {
    if (s.name === `${family}_bucket`) get(s.labels).buckets.push({ le: parseValue(s.labels.le ?? ''), count: s.value });
    else if (s.name === `${family}_sum`) get(s.labels).sum = s.value;
    else if (s.name === `${family}_count`) get(s.labels).count = s.value;
  }
  for (const h of by.values()) h.buckets.sort((a, b) => a.le - b.le);
  return [...by.values()];
}

/** Samples of a family (the family's own name only) whose labels include `match`. */
export function select(m: Metrics, name: string, match: Labels = {}): Sample[] {
  const f = m.get(familyOf(name, m));
  if (!f) return [];
  return f.samples.filter(
    (s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
}
