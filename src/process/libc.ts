// The libc calls Node has no binding for (fcntl for libostree's lock, getsockopt for a Varlink peer's
// credentials), through koffi: loaded on first use only, once, and retried after a failed load.

type Koffi = typeof import('koffi').default;
export type LibC = ReturnType<Koffi['load']>;

let loading: Promise<{ koffi: Koffi; libc: LibC }> | undefined;

/** koffi and libc.so.6, loaded once; a failed load rejects and is tried again by the next caller. */
export function loadLibc(): Promise<{ koffi: Koffi; libc: LibC }> {
  loading ??= import('koffi').then(({ default: koffi }) => ({ koffi, libc: koffi.load('libc.so.6') }));
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
