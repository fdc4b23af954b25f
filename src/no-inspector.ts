// Imported first by the daemon: SIGUSR1 would open Node's inspector on 127.0.0.1:9229, and in a root daemon any
// local user able to connect there could run code as root. Node 20 has no --disable-sigusr1; a JS listener for
// the signal replaces the inspector's handler (measured on Node 20: no port opens), so the signal is only
// logged. The unit also denies binding IP sockets (SocketBindDeny=).

/** How many SIGUSR1 were refused (the daemon logs them once its logger exists). */
export let refusedInspectorSignals = 0;

process.on('SIGUSR1', () => {
  refusedInspectorSignals += 1;
  process.emitWarning('SIGUSR1 ignored: the inspector is disabled in bootc-storaged', 'SecurityWarning');
});
