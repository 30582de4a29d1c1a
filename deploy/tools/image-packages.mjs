// image-packages.mjs: one line per runtime target of deploy/docker/Dockerfile,
//   TARGET<TAB>binary binary ...<TAB>package package ...
// for scripts/check-deploy.sh's ldd comparison.
import { dockerStages } from './lib.mjs';

let n = 0;
for (const [name, st] of dockerStages()) {
  if (st.bins.length === 0) continue;
  if (st.pkgs.length === 0) {
    console.error(`image-packages: target ${name} copies ${st.bins.join(' ')} but lists no RUNTIME_PKGS`);
    process.exit(1);
  }
  console.log(`${name}\t${st.bins.join(' ')}\t${st.pkgs.join(' ')}`);
  n++;
}
if (n === 0) process.exit(1);
