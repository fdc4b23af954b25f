#!/usr/bin/env bash
# Installs bootc-storaged into DESTDIR under PREFIX, or removes exactly what it installs.
#
#   scripts/install.sh DESTDIR PREFIX               (make install DESTDIR=… PREFIX=…)
#   scripts/install.sh --uninstall DESTDIR PREFIX   (make uninstall DESTDIR=… PREFIX=…)
#
# DESTDIR is the staging root (empty for the live system); PREFIX is where the files end up at run time
# (/usr for a distribution package). Files that reference each other (wrappers → bundles, units → wrappers)
# carry PREFIX paths, never DESTDIR ones. Needs dist/bundle/bootc-storaged.cjs (make build).
#
# What it installs (with PREFIX=/usr):
#   /usr/lib/bootc-storaged/bootc-storaged.cjs            the daemon's loader: runs bootc-storaged-main.cjs
#   /usr/lib/bootc-storaged/bootc-storaged-main.cjs       the daemon, bundled (node, no node_modules)
#   /usr/lib/bootc-storaged/bootc-storaged-main.cjs.cache its V8 code cache (made by the build)
#   /usr/lib/bootc-storaged/bootc-storaged-execa.cjs      execa, required by the bundles on their first child
#   /usr/lib/bootc-storaged/bootc-storagectl.cjs          the CLI, when it has been built
#   /usr/lib/bootc-storaged/node_modules/…                koffi (FFI) for this architecture, beside the bundles:
#                                                         koffi/…, @koromix/koffi-linux-<arch>/…/koffi.node
#   /usr/libexec/bootc-storaged                           launcher: node …/bootc-storaged.cjs in its own mount namespace
#   /usr/bin/bootc-storagectl                             wrapper: exec node …/bootc-storagectl.cjs
#   /usr/lib/systemd/system/bootc-storaged.service        the daemon (D-Bus-activated)
#   /usr/lib/systemd/system/bootc-storaged.socket         its Varlink socket (socket activation)
#   /usr/lib/systemd/system/bootc-storaged-gc.{service,timer}  daily garbage collection
#   /usr/share/dbus-1/system.d/org.bootc.Storage.conf     bus policy
#   /usr/share/dbus-1/system-services/org.bootc.Storage.service  activation file
#   /usr/share/dbus-1/interfaces/org.bootc.Storage.xml    interface description
#   /usr/share/varlink/org.bootc.Storage.varlink          Varlink interface description
#   /usr/share/polkit-1/actions/org.bootc.storage.policy  polkit actions
#   /usr/share/man/man1/bootc-storagectl.1                man page
#   /usr/share/bash-completion/completions/bootc-storagectl  bash completion
#   /usr/share/cockpit/bootc-storage/…                    the Cockpit page (cockpit/build.mjs), when it has been built
set -euo pipefail
cd "$(dirname "$0")/.."

mode=install
if [ "${1:-}" = --uninstall ]; then
  mode=uninstall
  shift
fi
if [ $# -ne 2 ]; then
  echo "usage: $0 [--uninstall] DESTDIR PREFIX" >&2
  exit 2
fi
destdir=${1%/}
prefix=${2%/}
case "$prefix" in
/*) ;;
*)
  echo "install.sh: PREFIX must be an absolute path, got '$prefix'" >&2
  exit 2
  ;;
esac
if [ -n "$destdir" ] && [ "${destdir#/}" = "$destdir" ]; then
  destdir="$PWD/$destdir" # a relative DESTDIR means relative to the source tree, as make passes it
fi

libdir="$prefix/lib/bootc-storaged"
libexecdir="$prefix/libexec"
bindir="$prefix/bin"
unitdir="$prefix/lib/systemd/system"
dbusdir="$prefix/share/dbus-1"
polkitdir="$prefix/share/polkit-1/actions"
mandir="$prefix/share/man/man1"
bashcompdir="$prefix/share/bash-completion/completions"
cockpitdir="$prefix/share/cockpit/bootc-storage"

# One line per installed file: source|destination (below PREFIX)|mode|kind. kind: copy, wrapper (a shell
# script that runs the named bundle), daemon-wrapper (scripts/daemon-launcher.sh.in for that bundle), unit (a
# copy with /usr paths rewritten for PREFIX).
manifest() {
  echo "dist/bundle/bootc-storaged.cjs|$libdir/bootc-storaged.cjs|0644|copy"
  # The loader above runs this bundle with V8's code cache (scripts/daemon-loader.cjs, scripts/bundle.mjs).
  echo "dist/bundle/bootc-storaged-main.cjs|$libdir/bootc-storaged-main.cjs|0644|copy"
  echo "dist/bundle/bootc-storaged-main.cjs.cache|$libdir/bootc-storaged-main.cjs.cache|0644|copy"
  # execa, the process runner's engine: both bundles require it on their first child process.
  echo "dist/bundle/bootc-storaged-execa.cjs|$libdir/bootc-storaged-execa.cjs|0644|copy"
  echo "bootc-storaged.cjs|$libexecdir/bootc-storaged|0755|daemon-wrapper"
  echo "dist/bundle/bootc-storagectl.cjs|$libdir/bootc-storagectl.cjs|0644|copy"
  echo "bootc-storagectl.cjs|$bindir/bootc-storagectl|0755|wrapper"
  echo "systemd/bootc-storaged.service|$unitdir/bootc-storaged.service|0644|unit"
  echo "systemd/bootc-storaged.socket|$unitdir/bootc-storaged.socket|0644|unit"
  echo "systemd/bootc-storaged-gc.service|$unitdir/bootc-storaged-gc.service|0644|unit"
  echo "systemd/bootc-storaged-gc.timer|$unitdir/bootc-storaged-gc.timer|0644|unit"
  echo "dbus/org.bootc.Storage.conf|$dbusdir/system.d/org.bootc.Storage.conf|0644|copy"
  echo "dbus/org.bootc.Storage.service|$dbusdir/system-services/org.bootc.Storage.service|0644|copy"
  echo "dbus/org.bootc.Storage.xml|$dbusdir/interfaces/org.bootc.Storage.xml|0644|copy"
  echo "varlink/org.bootc.Storage.varlink|$prefix/share/varlink/org.bootc.Storage.varlink|0644|copy"
  echo "polkit/org.bootc.storage.policy|$polkitdir/org.bootc.storage.policy|0644|copy"
  echo "docs/bootc-storagectl.1|$mandir/bootc-storagectl.1|0644|copy"
  echo "completions/bootc-storagectl.bash|$bashcompdir/bootc-storagectl|0644|copy"
  # koffi's runtime, which scripts/bundle.mjs puts beside the bundles (which files depends on the architecture).
  # Installing lists what the build made; uninstalling lists what is installed in our own directory, so it needs
  # no build and removes exactly what an earlier install put there.
  local runtime_root=dist/bundle
  if [ "$mode" = uninstall ]; then runtime_root="$destdir$libdir"; fi
  if [ -d "$runtime_root/node_modules" ]; then
    (cd "$runtime_root" && find node_modules -type f | LC_ALL=C sort) | while IFS= read -r f; do
      case "$f" in
      *.node) echo "dist/bundle/$f|$libdir/$f|0755|copy" ;; # a shared object (dlopen), as npm installs it
      *) echo "dist/bundle/$f|$libdir/$f|0644|copy" ;;
      esac
    done
  fi
  # The Cockpit page package (make build: dist/cockpit/bootc-storage), listed the same way: what the build made,
  # or on uninstall what is installed in its own directory.
  local page_root=dist/cockpit/bootc-storage
  if [ "$mode" = uninstall ]; then page_root="$destdir$cockpitdir"; fi
  if [ -d "$page_root" ]; then
    (cd "$page_root" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) | while IFS= read -r f; do
      echo "dist/cockpit/bootc-storage/$f|$cockpitdir/$f|0644|copy"
    done
  fi
}

if [ "$mode" = uninstall ]; then
  manifest | while IFS='|' read -r _src dst _mode _kind; do
    if [ -e "$destdir$dst" ] || [ -L "$destdir$dst" ]; then
      rm -f -- "$destdir$dst"
      echo "removed $destdir$dst"
    fi
  done
  # Our own directories go when they are empty; shared ones (lib/systemd/system, share/dbus-1/…) stay.
  if [ -d "$destdir$libdir/node_modules" ]; then
    find "$destdir$libdir/node_modules" -depth -type d -empty -delete
  fi
  rmdir -- "$destdir$libdir" 2>/dev/null || true
  if [ -d "$destdir$cockpitdir" ]; then find "$destdir$cockpitdir" -depth -type d -empty -delete; fi
  exit 0
fi

if [ ! -f dist/bundle/bootc-storaged.cjs ]; then
  echo "install.sh: dist/bundle/bootc-storaged.cjs is missing; run make build (or node scripts/bundle.mjs dist/bundle)" >&2
  exit 1
fi

manifest | while IFS='|' read -r src dst perm kind; do
  target="$destdir$dst"
  install -d -m 0755 -- "$(dirname "$target")"
  tmp="$target.tmp-install.$$"
  case "$kind" in
  copy) cp -- "$src" "$tmp" ;;
  wrapper)
    # node from PATH: a distribution's node (≥ 20) or one an administrator put in /usr/local/bin.
    printf '#!/bin/sh\nexec node %s "$@"\n' "$libdir/$src" >"$tmp"
    ;;
  daemon-wrapper)
    # The daemon runs in a mount namespace of its own, as bootc does (unshare -m): only there does it make
    # the store writable under a read-only /sysroot. unshare execs without forking, so the PID systemd
    # watches (NotifyAccess=main, KillMode=mixed) is node's. The marker tells the daemon which namespace it
    # was started in, so it never remounts anything there.
    sed -e "s|@BUNDLE@|$libdir/$src|" scripts/daemon-launcher.sh.in >"$tmp"
    ;;
  unit)
    # The daemon's unit names /usr/libexec/bootc-storaged; rewrite it for another PREFIX. (/usr/bin/busctl
    # in the GC unit is systemd's own and stays.)
    sed -e "s|/usr/libexec/bootc-storaged|$libexecdir/bootc-storaged|g" "$src" >"$tmp"
    ;;
  esac
  chmod "$perm" -- "$tmp"
  mv -f -- "$tmp" "$target" # atomic: a running daemon or a reading bus never sees a half-written file
  echo "installed $target"
done

if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then
  echo "install.sh: installed into the live system; run: systemctl daemon-reload (dbus and polkit pick up their files on their own)"
fi
