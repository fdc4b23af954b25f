#!/usr/bin/env bash
# Builds, once, the Debian 12 root file system the booted-systemd tier boots with systemd-nspawn, and prints
# its path. Usage: test/system/rootfs.sh CACHE_DIR
#
# The result lives at CACHE_DIR/bookworm-<hash of this script>: editing the recipe below makes a new one. It is
# built in a temporary directory next to it and renamed into place only when complete, so an interrupted run
# never leaves a half-built tree that a later run would trust. Tests never boot it directly: each test file
# boots a fresh copy of it (test/system/lib/container.ts).
set -euo pipefail

cache=${1:?usage: rootfs.sh CACHE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
key=$(sha256sum "$here/rootfs.sh" | cut -c1-12)
final="$cache/bookworm-$key"

if [ -f "$final/.complete" ]; then
  echo "$final"
  exit 0
fi

mkdir -p "$cache"
# One build at a time (two `make check` runs in one tree): the second waits, then finds the result.
exec 9>"$cache/.lock"
flock 9
if [ -f "$final/.complete" ]; then
  echo "$final"
  exit 0
fi
# Interrupted builds only take space (no one else builds: we hold the lock). A rootfs of an older recipe goes
# too, unless a running container still has it as its overlay's lower layer.
for old in "$cache"/.build-* "$cache"/bookworm-*; do
  [ -e "$old" ] || continue
  [ "$old" = "$final" ] && continue
  case "$old" in
  */bookworm-*) if grep -qsF "$(cd "$old" && pwd)" /proc/[0-9]*/mountinfo; then continue; fi ;;
  esac
  rm -rf "$old"
done

tmp=$(mktemp -d "$cache/.build-XXXXXX")
root="$tmp/root"
cleanup() {
  for m in proc sys dev; do umount -l "$root/$m" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

log="$tmp/build.log"
say() { echo "rootfs: $*" >&2; }

say "building a Debian 12 rootfs in $tmp (once; cached as $final)"
start=$SECONDS
# systemd as PID 1, the system bus, logind (polkitd needs it to decide "active session") and polkitd itself.
if ! debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libpam-systemd,polkitd \
  bookworm "$root" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  say "debootstrap failed (log above)"
  exit 1
fi
say "debootstrap done in $((SECONDS - start)) s"

# The host's apt sources (the same mirror/snapshot the host uses) replace debootstrap's sources.list.
if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null || [ -s /etc/apt/sources.list ]; then
  rm -f "$root/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null || true
  if [ -s /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$root/etc/apt/sources.list"; fi
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
# podman and skopeo as the daemon runs them, selinux-utils (matchpathcon) and attr (setfattr) with which it
# labels a new store from a deployment's policy (Requires: of the package); containernetworking-plugins keeps
# podman quiet about CNI. No recommends: the tier needs nothing else.
if ! chroot "$root" /bin/sh -c '
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends podman skopeo selinux-utils attr \
      containernetworking-plugins &&
    apt-get clean && rm -rf /var/lib/apt/lists/*' >>"$log" 2>&1; then
  tail -n 30 "$log" >&2
  say "installing podman into the rootfs failed (log above)"
  exit 1
fi
for m in proc sys dev; do umount -l "$root/$m"; done

# Boot quickly and quietly: nothing of apt's timers, no gettys on a console nobody reads. The machine ID is
# left empty so every boot of a copy gets a fresh one from nspawn.
# podman's own units are about containers in its default store, which this tier never uses.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
  console-getty.service getty@.service systemd-networkd-wait-online.service \
  podman-auto-update.timer podman-auto-update.service podman-restart.service podman.socket; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
# Each boot bind-mounts its own /sysroot (an ostree sysroot made by the ostree tool, test/system/lib).
mkdir -p "$root/sysroot"
echo bootc-storaged-test >"$root/etc/hostname"

touch "$root/.complete"
mv -T "$root" "$final"
say "rootfs ready in $((SECONDS - start)) s: $final ($(du -sh "$final" | cut -f1))"
echo "$final"
