// A sandbox "host" for one test: a sysroot, a run dir and a registries.conf that lets podman use
// the test registries over plain HTTP.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeMutable } from './ostree-sysroot.js';
import { makeTempDir } from './tmp.js';

export interface Sandbox {
  dir: string;
  sysroot: string;
  run: string;
  registriesConf: string;
  env: NodeJS.ProcessEnv;
  /** Deletes it all, deployments too (ostree makes their directories immutable). */
  remove(): void;
}

export function makeSandbox(insecureRegistries: string[]): Sandbox {
  const tmp = makeTempDir('bsd-sandbox-');
  const sysroot = join(tmp.path, 'sysroot');
  const run = join(tmp.path, 'run');
  mkdirSync(sysroot, { recursive: true });
  mkdirSync(run, { recursive: true });
  const registriesConf = join(tmp.path, 'registries.conf');
  writeFileSync(
    registriesConf,
    insecureRegistries.map((r) => `[[registry]]\nlocation = "${r}"\ninsecure = true\n`).join('\n'),
  );
  return {
    dir: tmp.path,
    sysroot,
    run,
    registriesConf,
    env: { ...process.env, CONTAINERS_REGISTRIES_CONF: registriesConf },
    remove: () => {
      makeMutable(sysroot);
      tmp.remove();
    },
  };
}
