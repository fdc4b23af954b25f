#!/usr/bin/env bash
# Installs what `make run` and `make check` need on a fresh Debian 12 machine, as root. Idempotent and fast
# when everything is already there: apt runs only for packages that are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  podman skopeo          # the engine's backend, and image inspection
  docker-registry        # the local registry tests and the sandbox pull from
  apache2-utils          # htpasswd, for a registry that demands credentials
  dbus                   # dbus-daemon and the tools (busctl comes with systemd)
  polkitd pkexec         # the real authorization daemon the daemon asks
  util-linux             # unshare, setpriv, mount
  procps                 # pgrep/pkill, used by tests to prove no podman outlives its call
  uidmap                 # podman's recommended helpers
  containernetworking-plugins # silences podman's CNI warnings on hosts that default to CNI
  libxml2-utils          # xmllint, to validate the bus and polkit XML files
  curl                   # readiness probes in the sandbox script
  varlink-go             # varlink-go-certification: the reference peer that certifies the Varlink server and client
  systemd-container      # systemd-nspawn: the booted-systemd test tier (test/system)
  debootstrap            # builds that tier's cached Debian rootfs
  rpm                    # rpmbuild, to check packaging/bootc-storaged.spec (packaging/build-rpm.sh)
  ostree                 # real ostree sysroots and deployments for the GC, lock and label tests
  selinux-utils          # matchpathcon: SELinux file contexts from a deployment's policy, no loaded policy needed
  attr                   # setfattr/getfattr: security.selinux labels, and the tests that read them back
  python3                # the tests hold the sysroot lock the way libostree does (fcntl F_OFD_SETLKW)
  gpg gpg-agent          # a test's own key signs an image (skopeo copy --sign-by) for the signature-policy tests
  openssh-client         # bootc-storagectl -H runs ssh HOST systemd-stdio-bridge
  openssh-server         # the -H tests' own sshd on 127.0.0.1, started by the test (apt starts none: below)
  # The Cockpit page's browser tier (test/browser): cockpit-ws serves it with a local session of cockpit-bridge
  # (base1/cockpit.js, static fonts), cockpit-system is Cockpit's shell (the menu), Debian's Chromium runs it.
  cockpit-ws cockpit-bridge cockpit-system
  chromium fonts-dejavu-core
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq
  # Packages with services (openssh-server, cockpit-ws) must not start them here: the tests start their own.
  # A policy-rc.d that says 101 ("not allowed") does that, as in Debian's container images.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node dependencies, exactly as locked, whenever the lock changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
