// Writes .gz and .br siblings of every text asset in dist/ (node's zlib, best levels), for the
// gateway's precompressed serving. Prints the initial JavaScript budget (gzip) for the record.
import { readdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const TEXT = new Set(['.js', '.css', '.html', '.svg', '.json', '.txt', '.map', '.webmanifest']);

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

let files = 0;
for (const f of walk(dist)) {
  if (!TEXT.has(extname(f))) continue;
  const buf = readFileSync(f);
  writeFileSync(`${f}.gz`, gzipSync(buf, { level: 9 }));
  writeFileSync(
    `${f}.br`,
    brotliCompressSync(buf, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
      },
    }),
  );
  files++;
}

// Initial JS = the entry script and the modulepreloads named in index.html.
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const initial = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
let gz = 0;
for (const a of initial) gz += gzipSync(readFileSync(join(dist, a)), { level: 9 }).length;
console.log(`compress: ${files} text files -> .gz + .br; initial JS ${initial.length} file(s), ${gz} bytes gzipped`);
