#!/usr/bin/env bash
# `make run`: the daemon on a sandbox anyone can try without a bootc host. Everything lives in ./.run: a
# real ostree sysroot (made by the ostree tool, one deployment binding the demo image) mounted read-only as
# on a bootc host, a run dir, a private system bus with the real polkitd, and a local registry holding a demo
# image. Ctrl-C stops it all.
#   --smoke   bring it up, run every printed command (busctl and bootc-storagectl) once, check the answers,
#             tear down (used by tests)
set -euo pipefail
cd "$(dirname "$0")/.."
# The sandbox is a host of its own: a private mount namespace, so the read-only /sysroot mount below never
# touches this machine's mount table, and it vanishes with the script.
if [ -z "${SANDBOX_NAMESPACE:-}" ]; then
  SANDBOX_NAMESPACE=1 exec unshare --mount --propagation private -- bash "$0" "$@"
fi
REPO=$PWD
SMOKE=0
[ "${1:-}" = "--smoke" ] && SMOKE=1
RUN=${SANDBOX_DIR:-$REPO/.run}

pids=()
# ostree marks deployment directories immutable; clearing that lets a later run (or rm -rf .run) remove them.
mutable() { find "$RUN/sysroot/ostree/deploy" -mindepth 3 -maxdepth 3 -type d -exec chattr -i {} + 2>/dev/null || true; }
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  umount "$RUN/sysroot" 2>/dev/null || true # the read-only bind mount (only in this namespace)
  mutable
  if [ "${BUS_DIR:-}" != "$RUN/bus" ] && [ -n "${BUS_DIR:-}" ]; then rm -rf "$BUS_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
wait_for() { for _ in $(seq 100); do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "sandbox: timed out waiting for: $1" >&2; return 1; }

BUNDLE=${SANDBOX_BUNDLE:-$REPO/dist/bundle}
[ -f "$BUNDLE/bootc-storaged.cjs" ] || node scripts/bundle.mjs "$BUNDLE"
mkdir -p "$RUN"/{sysroot,run,registry,build,ctx,bus}
chmod 755 "$RUN" "$RUN/bus" # polkitd drops to its own user and must reach the bus socket
# ...through every directory above it too. A checkout in a private directory (a `mktemp -d` clone is 0700) gets
# its bus in a directory of its own under /tmp, removed with the sandbox.
others_may_enter() {
  local d=$1
  while [ "$d" != / ]; do
    [ $((0$(stat -c %a "$d") & 1)) -ne 0 ] || return 1
    d=$(dirname "$d")
  done
}
BUS_DIR=$RUN/bus
if ! others_may_enter "$RUN"; then
  BUS_DIR=$(mktemp -d /tmp/bootc-storaged-bus.XXXXXX)
  chmod 755 "$BUS_DIR"
fi

# 1. A registry on loopback with a demo image.
REG=127.0.0.1:$(free_port)
cat >"$RUN/registry/config.yml" <<YML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $RUN/registry/data}}
http: {addr: $REG}
YML
docker-registry serve "$RUN/registry/config.yml" >"$RUN/registry/log" 2>&1 &
pids+=($!)
wait_for "curl -fsS http://$REG/v2/"
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" >"$RUN/registries.conf"
export CONTAINERS_REGISTRIES_CONF=$RUN/registries.conf
DEMO=$REG/demo/hello:latest
OTHER=$REG/demo/other:v1
echo "bootc storage sandbox demo" >"$RUN/ctx/hello.txt"
printf 'FROM scratch\nCOPY hello.txt /hello.txt\n' >"$RUN/ctx/Containerfile"
b() { podman --root "$RUN/build/root" --runroot "$RUN/build/run" "$@" 2>/dev/null; }
b build -q -t "$DEMO" "$RUN/ctx" >/dev/null
b push -q --tls-verify=false "$DEMO"
echo "another image" >"$RUN/ctx/hello.txt"
b build -q -t "$OTHER" "$RUN/ctx" >/dev/null
b push -q --tls-verify=false "$OTHER"

# 2. A real ostree sysroot, as bootc hosts have: one deployment whose bound image is the demo image
# (GarbageCollect keeps it) and whose host image is an OS image. No ostree/bootc yet (a fresh host): the daemon
# creates it. Then /sysroot is made read-only (sysroot.readonly=true, a read-only mount) as on a bootc host.
SYS=$RUN/sysroot
mutable
rm -rf "$SYS" "$RUN/tree"
mkdir -p "$SYS" "$RUN/tree"/usr/{lib/modules/6.1.0,etc,lib/bootc/bound-images.d,share/containers/systemd}
echo "not a kernel" >"$RUN/tree/usr/lib/modules/6.1.0/vmlinuz"
printf 'ID=sandbox\nNAME="bootc-storaged sandbox"\n' | tee "$RUN/tree/usr/lib/os-release" >"$RUN/tree/usr/etc/os-release"
printf '[Image]\nImage=%s\n' "$DEMO" >"$RUN/tree/usr/share/containers/systemd/hello.image"
ln -s /usr/share/containers/systemd/hello.image "$RUN/tree/usr/lib/bootc/bound-images.d/hello.image"
printf '[origin]\ncontainer-image-reference=ostree-unverified-registry:%s\n' "$REG/demo/os:1" >"$RUN/origin"
ostree admin init-fs "$SYS" >/dev/null
ostree admin os-init --sysroot="$SYS" default >/dev/null
ostree --repo="$SYS/ostree/repo" commit -b sandbox/os --tree=dir="$RUN/tree" --owner-uid=0 --owner-gid=0 >/dev/null
ostree admin deploy --sysroot="$SYS" --os=default --origin-file="$RUN/origin" sandbox/os >/dev/null
ostree config --repo="$SYS/ostree/repo" set sysroot.readonly true
mount --bind -o ro "$SYS" "$SYS"

# 3. A private system bus with the project's bus policy, and the real polkitd with the project's actions.
SOCK=$BUS_DIR/system_bus_socket
rm -f "$SOCK"
sed -e "s|@SOCKET@|$SOCK|" -e "s|@REPO@|$REPO|" scripts/private-bus.conf.in >"$BUS_DIR/bus.conf"
dbus-daemon --config-file="$BUS_DIR/bus.conf" --nofork --nopidfile 2>/dev/null &
pids+=($!)
wait_for "test -S $SOCK"
chmod 777 "$SOCK"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$SOCK
# polkitd reads actions only from this directory: the sandbox installs the project's policy there (root).
install -m 644 polkit/org.bootc.storage.policy /usr/share/polkit-1/actions/org.bootc.storage.policy
/usr/lib/polkit-1/polkitd --no-debug >/dev/null 2>&1 &
pids+=($!)
wait_for "busctl list --no-legend | grep -q org.freedesktop.PolicyKit1"

# 4. The daemon, through the launcher the package installs: a mount namespace of its own, where it makes
# the store writable while the sysroot stays read-only here.
sed -e "s|@BUNDLE@|$BUNDLE/bootc-storaged.cjs|" scripts/daemon-launcher.sh.in >"$RUN/launcher"
# With the V8 flags the unit gives node (the bundle's code cache is made with them; V8 rejects it otherwise);
# the loader says in the log whether V8 took the cache.
NODE_OPTIONS=$(sed -n 's/^Environment="NODE_OPTIONS=\(.*\)"$/\1/p' systemd/bootc-storaged.service) BOOTC_STORAGED_CODE_CACHE_DEBUG=1 \
  sh "$RUN/launcher" --sysroot "$SYS" --run "$RUN/run" >"$RUN/daemon.log" 2>&1 &
pids+=($!)
wait_for "grep -q '\"msg\":\"serving\"' $RUN/daemon.log"

D="org.bootc.Storage /org/bootc/Storage org.bootc.Storage"
COMMANDS=(
  "busctl call $D Exists s $DEMO"
  "busctl call $D Pull ss $DEMO missing"
  "busctl call $D Exists s $DEMO"
  "busctl call $D Pull ss $OTHER always"
  "busctl --json=pretty call $D List"
  "busctl call $D ListJobs"
  "busctl call $D GarbageCollect b true"
  "busctl call $D GarbageCollect b false"
  "busctl get-property $D Version StorePath"
  "runuser -u nobody -- busctl call $D Pull ss $DEMO always"
  "busctl call $D Pull ss docker-archive:/etc/shadow always"
)

# The same operations with the CLI, the bundle make run built, runnable as printed. nobody's copy sits in the
# bus directory, which others may enter by construction (the checkout may not be: a mktemp -d clone).
CTL="node $BUNDLE/bootc-storagectl.cjs"
cp "$BUNDLE/bootc-storagectl.cjs" "$BUNDLE/bootc-storaged-execa.cjs" "$BUS_DIR/"
chmod 644 "$BUS_DIR/bootc-storagectl.cjs" "$BUS_DIR/bootc-storaged-execa.cjs"
NOBODY_CTL="runuser -u nobody -- node $BUS_DIR/bootc-storagectl.cjs --no-ask-password"
CLI_COMMANDS=(
  "$CTL exists $DEMO"
  "$CTL pull $DEMO"
  "$CTL pull --policy always $OTHER"
  "$CTL list"
  "$CTL jobs"
  "$CTL deployments"
  "$CTL bound"
  "$CTL gc --dry-run"
  "$CTL gc"
  "$CTL watch"
  "$NOBODY_CTL pull --policy always $DEMO"
)

if [ $SMOKE = 1 ]; then
  expect() { # expect PATTERN COMMAND…: the command's stdout+stderr must match PATTERN
    local pat=$1; shift
    local out; out=$("$@" 2>&1 || true)
    if ! grep -qE "$pat" <<<"$out"; then echo "sandbox smoke: '$*' printed: $out" >&2; exit 1; fi
    echo "ok: $*"
  }
  grep -q '^code cache: accepted' "$RUN/daemon.log" || { echo "sandbox smoke: V8 did not take the code cache" >&2; exit 1; }
  echo "ok: the daemon runs with the unit's node flags (code cache accepted)"
  expect '^b false' busctl call $D Exists s "$DEMO"
  expect '^b true' busctl call $D Pull ss "$DEMO" missing
  expect '^b true' busctl call $D Exists s "$DEMO"
  expect '^b true' busctl call $D Pull ss "$OTHER" always
  expect '"data"' busctl --json=pretty call $D List
  expect '^a\(ussso\) 0' busctl call $D ListJobs
  expect '^as 1 ' busctl call $D GarbageCollect b true
  expect '^as 1 ' busctl call $D GarbageCollect b false
  expect '^b true' busctl call $D Exists s "$DEMO"
  expect '^s "' busctl get-property $D Version StorePath
  expect 'Access denied|not authorized' runuser -u nobody -- busctl call $D Pull ss "$DEMO" always
  expect 'InvalidReference|transports' busctl call $D Pull ss docker-archive:/etc/shadow always
  # The CLI lines, as printed (word-split like a shell would: no argument holds a space).
  expect ': present$' ${CLI_COMMANDS[0]}
  expect 'already present; nothing fetched' ${CLI_COMMANDS[1]}
  expect "^Fetched $OTHER" ${CLI_COMMANDS[2]}
  expect 'demo/other' ${CLI_COMMANDS[3]}
  expect '^No jobs\.|^ID' ${CLI_COMMANDS[4]}
  expect '[0-9a-f]{12}.*\.0' ${CLI_COMMANDS[5]}
  expect 'demo/hello.*present' ${CLI_COMMANDS[6]}
  expect '[0-9a-f]{12}' ${CLI_COMMANDS[7]}
  expect '[0-9a-f]{12}' ${CLI_COMMANDS[8]}
  expect '"event":"Watching"' timeout --signal=INT 5 ${CLI_COMMANDS[9]} --json
  expect 'not authorized|authentication is required' ${CLI_COMMANDS[10]}
  # The store was created under the read-only sysroot, which stays read-only outside the daemon.
  expect 'Read-only file system' touch "$SYS/ostree/bootc/probe"
  expect '^created$' sh -c 'test -d "$1/ostree/bootc/storage/overlay-images" && echo created' - "$SYS"
  echo "sandbox smoke: all commands answered as expected"
  exit 0
fi

cat <<TXT

bootc-storaged is serving org.bootc.Storage on a private system bus.
  store:    $SYS/ostree/bootc/storage  (a real ostree sysroot, read-only except in the daemon's namespace)
  registry: $REG  (demo images $DEMO, $OTHER)
  daemon log: $RUN/daemon.log

In another shell:
  export DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS
$(printf '  %s\n' "${COMMANDS[@]}")
  busctl monitor org.bootc.Storage     # watch JobNew/JobRemoved and job progress

The same with the CLI, bootc-storagectl (as installed: /usr/bin/bootc-storagectl …), in that shell:
$(printf '  %s\n' "${CLI_COMMANDS[@]}")

(The nobody calls are refused by polkit; the docker-archive: one is refused as an invalid reference; watch
runs until Ctrl-C, printing a line whenever the store or the deployments change.)
Ctrl-C stops everything.
TXT
wait "${pids[-1]}"
