#!/usr/bin/env bash
# Builds, once, the Debian root file system the booted-systemd tier boots with systemd-nspawn, and prints its
# path. Usage: test/system/rootfs.sh CACHE_DIR [GENERATION]
#
#   GENERATION  bookworm (Debian 12, the default: systemd 252, podman 4.3; the daemon runs on the host's
#               node, bound in, because Debian 12's nodejs is 18)
#               trixie   (Debian 13: systemd 257, podman 5.4, skopeo 1.18, ostree 2025.2; the daemon runs on
#               Debian's own nodejs 20, /usr/bin/node)
#
# The result lives at CACHE_DIR/<generation>-<hash of this script and the generation>: editing the recipe below
# makes a new one. It is built in a temporary directory next to it and renamed into place only when complete,
# so an interrupted run never leaves a half-built tree that a later run would trust. Each generation has its own
# lock and its own temporary directories, so the two can be built at the same time. Tests never boot it
# directly: each test file boots a fresh copy of it (test/system/lib/container.ts).
set -euo pipefail

cache=${1:?usage: rootfs.sh CACHE_DIR [bookworm|trixie]}
gen=${2:-bookworm}
case "$gen" in
bookworm) release="Debian 12" ;;
trixie) release="Debian 13" ;;
*)
  echo "rootfs.sh: unknown generation '$gen' (bookworm or trixie)" >&2
  exit 2
  ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
key=$({ cat "$here/rootfs.sh"; echo "$gen"; } | sha256sum | cut -c1-12)
final="$cache/$gen-$key"

if [ -f "$final/.complete" ]; then
  echo "$final"
  exit 0
fi

mkdir -p "$cache"
# One build of a generation at a time (two `make check` runs in one tree): the second waits, then finds the
# result. The other generation has its own lock and builds meanwhile.
exec 9>"$cache/.$gen.lock"
flock 9
if [ -f "$final/.complete" ]; then
  echo "$final"
  exit 0
fi
# Interrupted builds of this generation only take space (no one else builds it: we hold its lock). A rootfs of
# an older recipe goes too, unless a running container still has it as its overlay's lower layer.
for old in "$cache"/.build-"$gen"-* "$cache"/"$gen"-*; do
  [ -e "$old" ] || continue
  [ "$old" = "$final" ] && continue
  case "$old" in
  */"$gen"-*) if grep -qsF "$(cd "$old" && pwd)" /proc/[0-9]*/mountinfo; then continue; fi ;;
  esac
  rm -rf "$old"
done
# Interrupted builds of the recipe before generations (.build-XXXXXX) were always Debian 12's.
if [ "$gen" = bookworm ]; then rm -rf "$cache"/.build-??????; fi

tmp=$(mktemp -d "$cache/.build-$gen-XXXXXX")
root="$tmp/root"
cleanup() {
  for m in proc sys dev; do umount -l "$root/$m" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

log="$tmp/build.log"
say() { echo "rootfs: $*" >&2; }

# systemd as PID 1, the system bus, logind (polkitd needs it to decide "active session") and polkitd itself.
include=systemd,systemd-sysv,dbus,libpam-systemd,polkitd
case "$gen" in
bookworm) size="~1 min, ~280 MB" ;;
trixie)
  # Everything from trixie itself in one debootstrap: podman and skopeo as the daemon runs them, ostree,
  # Debian's nodejs (20.19) that runs the daemon, selinux-utils (matchpathcon) and attr (setfattr) with which
  # it labels a new store from a deployment's policy (Requires: of the package). podman 5 needs no CNI plugins.
  include=$include,podman,skopeo,ostree,nodejs,selinux-utils,attr
  size="~3 min, ~590 MB"
  ;;
esac

say "building a $release ($gen) rootfs in $tmp ($size, once; cached as $final)"
start=$SECONDS
if ! debootstrap --variant=minbase --include="$include" "$gen" "$root" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  say "debootstrap $gen failed (log above)"
  exit 1
fi
say "debootstrap $gen done in $((SECONDS - start)) s"

cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
rm -f "$root/etc/apt/sources.list"
case "$gen" in
bookworm)
  # The host's apt sources (the same mirror/snapshot the host uses, Debian 12 too) replace debootstrap's.
  cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null || true
  if [ -s /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$root/etc/apt/sources.list"; fi
  ;;
trixie)
  # The host's sources name bookworm: trixie gets its own, from debootstrap's default mirror, with the keyring
  # debootstrap installed into the rootfs.
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  ;;
esac

mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
case "$gen" in
bookworm)
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
  ;;
trixie)
  # Nothing more to install; this proves that apt inside works with the sources above (and leaves no lists).
  if ! chroot "$root" /bin/sh -c 'apt-get update -qq && apt-get clean && rm -rf /var/lib/apt/lists/*' \
    >>"$log" 2>&1; then
    tail -n 30 "$log" >&2
    say "apt-get update inside the trixie rootfs failed (log above)"
    exit 1
  fi
  ;;
esac
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
