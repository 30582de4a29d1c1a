// image-packages.mjs: one line per runtime target of deploy/docker/Dockerfile,
//   TARGET<TAB>binary binary ...<TAB>package package ...
// for scripts/check-deploy.sh's ldd comparison.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, dockerStages } from './lib.mjs';

// The build stage builds only the programs the images carry (--target list).
const text = readFileSync(join(ROOT, 'deploy/docker/Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
const built = new Set(text.match(/cmake --build \S+(?: -j \S+)? --target ((?:rs-[\w-]+\s+)+)/)?.[1].trim().split(/\s+/) ?? []);
let n = 0;
for (const [name, st] of dockerStages()) {
  if (st.bins.length === 0) continue;
  if (st.pkgs.length === 0) {
    console.error(`image-packages: target ${name} copies ${st.bins.join(' ')} but lists no RUNTIME_PKGS`);
    process.exit(1);
  }
  for (const b of st.bins)
    if (!built.has(b)) {
      console.error(`image-packages: target ${name} copies ${b}, which the build stage does not build`);
      process.exit(1);
    }
  console.log(`${name}\t${st.bins.join(' ')}\t${st.pkgs.join(' ')}`);
  n++;
}
if (n === 0) process.exit(1);
