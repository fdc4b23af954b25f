// A store the fake podman (test/unit/fake-bin) stands in for: an empty containers-storage skeleton whose change
// token a test can move (images.lock), the list the fake `podman image list` prints (list.json), and the log of
// every process it recorded. Shared by the unit tests of what the image view saves a job (pull-view,
// removal-view).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { STORE_SUBPATH, Store } from '../../src/storage/store.js';
import { makeTempDir } from './tmp.js';

/** One entry of `podman image list --format=json`, as the fake prints it. */
export type FakeListEntry = Record<string, unknown> & { Id: string };

export interface FakePodmanStore {
  /** The temporary directory: sysroot/, run/, the log and list.json. */
  dir: string;
  /** images.lock: writing other bytes to it moves the store's change token (as a foreign writer would). */
  lock: string;
  log: string;
  /** Replaces what the fake `podman image list` prints. */
  setList(entries: FakeListEntry[]): void;
  /** Moves the change token to a new state (`c` repeated). */
  moveToken(c: string): void;
  /** Opens the store with the fake podman first on PATH (`extra` merged over its environment). */
  open(extra?: NodeJS.ProcessEnv): Store;
  /** The arguments of every process the fake recorded so far. */
  calls(): string[][];
  /** Forgets what was recorded. */
  clearLog(): void;
  remove(): void;
}

export function makeFakePodmanStore(prefix: string, list: FakeListEntry[]): FakePodmanStore {
  const tmp = makeTempDir(prefix);
  const images = join(tmp.path, 'sysroot', STORE_SUBPATH, 'overlay-images');
  mkdirSync(images, { recursive: true });
  // The store's change token: images.json and the last-writer token in images.lock.
  writeFileSync(join(images, 'images.json'), '[]');
  const lock = join(images, 'images.lock');
  writeFileSync(lock, 'x'.repeat(64));
  const log = join(tmp.path, 'log');
  const listFile = join(tmp.path, 'list.json');
  const setList = (entries: FakeListEntry[]) => writeFileSync(listFile, JSON.stringify(entries));
  setList(list);
  const opened: Store[] = [];
  return {
    dir: tmp.path,
    lock,
    log,
    setList,
    moveToken: (c) => writeFileSync(lock, c.repeat(64)),
    open: (extra = {}) => {
      const store = Store.open({
        // The fake's list.json stands in for the store: its records (an empty images.json) must not answer.
        imageRecords: false,
        sysroot: join(tmp.path, 'sysroot'),
        run: join(tmp.path, 'run'),
        env: {
          PATH: `${resolve(__dirname, '../unit/fake-bin')}:${process.env.PATH}`,
          FAKE_LOG: log,
          FAKE_LIST: listFile,
          ...extra,
        },
      });
      opened.push(store);
      return store;
    },
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => (JSON.parse(l) as { args: string[] }).args)
        : [],
    clearLog: () => {
      writeFileSync(log, '');
      writeFileSync(`${log}.wrap`, '');
    },
    remove: () => {
      for (const s of opened) s.close();
      tmp.remove();
    },
  };
}
