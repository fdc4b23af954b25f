#!/usr/bin/env bash
# The booted-systemd tier: boots Debian with systemd as PID 1 in systemd-nspawn, installs bootc-storaged into
# it as a distribution would (make install DESTDIR=… PREFIX=/usr), and tests it through the real system bus,
# D-Bus activation, polkit, journald and the units. Every test file runs on two platform generations, Debian 12
# (bookworm) and Debian 13 (trixie), at the same time (test/system/vitest.config.ts). See test/system/README.md.
#
#   test/system/run.sh REPORT_JSON [VITEST_ARGS…]        (make test-system)
#
# VITEST_ARGS narrow the run, e.g. `--project system-debian13` (one generation) or a file's path; they go to
# vitest as they are. Always writes one vitest JSON report (both generations) to REPORT_JSON. When this machine
# cannot run the tier (not root, no systemd-nspawn, no overlayfs, a rootfs cannot be built, …) it says why and
# writes a report with one FAILED test, so CI never passes silently; BOOTC_STORAGED_SKIP_SYSTEM=1 turns that
# into an explicit skip (a report with 0 tests).
set -euo pipefail
cd "$(dirname "$0")/../.."

report=${1:?usage: test/system/run.sh REPORT_JSON [VITEST_ARGS…]}
shift
mkdir -p "$(dirname "$report")"
rm -f "$report"

# A report for a tier that did not run: one failed test carrying the reason, or (skip) no tests at all.
write_report() { # $1: failed|skipped  $2: reason
  STATUS=$1 REASON=$2 node -e '
    const fs = require("node:fs");
    const failed = process.env.STATUS === "failed";
    const reason = process.env.REASON;
    const now = Date.now();
    const assertion = {
      ancestorTitles: ["booted-systemd tier"],
      fullName: "booted-systemd tier can run on this machine",
      status: "failed",
      title: "can run on this machine",
      duration: 0,
      failureMessages: [reason],
      meta: {},
    };
    fs.writeFileSync(process.argv[1], JSON.stringify({
      numTotalTestSuites: failed ? 1 : 0,
      numPassedTestSuites: 0,
      numFailedTestSuites: failed ? 1 : 0,
      numPendingTestSuites: 0,
      numTotalTests: failed ? 1 : 0,
      numPassedTests: 0,
      numFailedTests: failed ? 1 : 0,
      numPendingTests: 0,
      numTodoTests: 0,
      snapshot: {},
      startTime: now,
      success: !failed,
      testResults: failed ? [{
        assertionResults: [assertion],
        startTime: now,
        endTime: now,
        status: "failed",
        message: reason,
        name: "test/system (preflight)",
      }] : [],
    }, null, 2) + "\n");
  ' "$report"
}

banner() {
  echo "################################################################################" >&2
  while [ $# -gt 0 ]; do echo "## $1" >&2; shift; done
  echo "################################################################################" >&2
}

cannot_run() {
  local reason=$1
  if [ "${BOOTC_STORAGED_SKIP_SYSTEM:-}" = 1 ]; then
    banner "test-system: SKIPPED (BOOTC_STORAGED_SKIP_SYSTEM=1): the booted-systemd tier did not run." \
      "Reason it could not run here: $reason"
    write_report skipped "$reason"
    exit 0
  fi
  banner "test-system: FAILED: the booted-systemd tier cannot run on this machine." \
    "Reason: $reason" \
    "It needs root, systemd-nspawn (systemd-container), nsenter/unshare (util-linux), overlayfs," \
    "debootstrap and network access for the first build of its two rootfs, podman, skopeo, docker-registry." \
    "Set BOOTC_STORAGED_SKIP_SYSTEM=1 to skip it deliberately (the report then holds 0 tests)."
  write_report failed "booted-systemd tier could not run: $reason"
  exit 1
}

# ---- Preflight: say exactly what is missing. ----
[ "$(id -u)" -eq 0 ] || cannot_run "not running as root (uid $(id -u)); systemd-nspawn and mounts need root"
for tool in systemd-nspawn:systemd-container nsenter:util-linux unshare:util-linux podman:podman \
  skopeo:skopeo docker-registry:docker-registry node:nodejs; do
  command -v "${tool%%:*}" >/dev/null || cannot_run "${tool%%:*} is not installed (package ${tool#*:})"
done
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || cannot_run "the kernel has no overlayfs (needed to boot copies of the rootfs)"

if [ "${BOOTC_STORAGED_SKIP_SYSTEM:-}" = 1 ]; then
  banner "test-system: SKIPPED because BOOTC_STORAGED_SKIP_SYSTEM=1 is set (this machine could have run it)." \
    "The booted-systemd tier (units, D-Bus activation, polkit, journald, GC timer) was NOT tested."
  write_report skipped "BOOTC_STORAGED_SKIP_SYSTEM=1"
  exit 0
fi

# ---- Leftovers of interrupted runs: their owner (the test process) is gone, so are they. ----
if [ -d .cache/system-runs ]; then
  for dir in .cache/system-runs/*/; do
    [ -d "$dir" ] || continue
    owner=$(cat "$dir/owner.pid" 2>/dev/null || echo 0)
    if [ "$owner" -gt 0 ] && kill -0 "$owner" 2>/dev/null; then continue; fi # another run, still going
    pid=$(cat "$dir/nspawn.pid" 2>/dev/null || echo 0)
    if [ "$pid" -gt 0 ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q systemd-nspawn; then
      echo "test-system: stopping the container a killed run left behind (nspawn pid $pid)" >&2
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    # ostree makes deployment directories immutable; a boot's sysroot holds real ones.
    find "$dir/sysroot/ostree/deploy" -mindepth 3 -maxdepth 3 -type d -exec chattr -i {} + 2>/dev/null || true
    rm -rf --one-file-system "$dir"
    # Its container's cgroups (lib/container.ts), deepest first: empty now that the container is gone.
    find /sys/fs/cgroup -type d -name "bootc-storaged-test-$(basename "$dir")" -prune -print 2>/dev/null |
      while read -r cg; do find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true; done || true
  done
fi

# ---- The cached rootfs of each generation (built once: ~1 min for Debian 12, ~1.5-3 min for Debian 13, at the
# same time), and the project installed as a distribution would. ----
generations=(bookworm trixie)
for gen in "${generations[@]}"; do
  if ! command -v debootstrap >/dev/null && ! compgen -G ".cache/rootfs/$gen-*/.complete" >/dev/null; then
    cannot_run "debootstrap is not installed (package debootstrap) and no $gen rootfs is cached in .cache/rootfs"
  fi
done
t0=$SECONDS
rootfs_dir=$(mktemp -d)
trap 'rm -rf "$rootfs_dir"' EXIT
for gen in "${generations[@]}"; do
  (bash test/system/rootfs.sh .cache/rootfs "$gen" >"$rootfs_dir/$gen" && echo ok >"$rootfs_dir/$gen.ok") &
done
wait
for gen in "${generations[@]}"; do
  if [ ! -f "$rootfs_dir/$gen.ok" ]; then
    cannot_run "building the $gen rootfs with debootstrap failed (see the messages above; it needs the network once)"
  fi
  echo "test-system: $gen rootfs $(cat "$rootfs_dir/$gen") ($((SECONDS - t0)) s)" >&2
done
rm -rf "$rootfs_dir"
trap - EXIT

# `make install` into a staging root, once per run; every boot stacks it on the rootfs (an overlay layer).
run_dir="$PWD/.cache/system-runs/install-$$"
mkdir -p "$run_dir"
echo $$ >"$run_dir/owner.pid"
trap 'rm -rf --one-file-system "$run_dir"' EXIT
if ! make --no-print-directory install DESTDIR="$run_dir/root" PREFIX=/usr >"$run_dir/install.log" 2>&1; then
  tail -n 30 "$run_dir/install.log" >&2
  echo "test-system: make install DESTDIR=… PREFIX=/usr failed (above); the tier tests the installed files" >&2
  write_report failed "make install DESTDIR=$run_dir/root PREFIX=/usr failed"
  exit 1
fi
echo "test-system: installed with make install DESTDIR=$run_dir/root PREFIX=/usr ($((SECONDS - t0)) s)" >&2

# lib/container.ts finds each generation's rootfs with rootfs.sh (instant now that both are built); each vitest
# project (test/system/vitest.config.ts) sets BOOTC_STORAGED_ROOTFS to its generation.
export BOOTC_STORAGED_INSTALL_ROOT="$run_dir/root"
status=0
t1=$SECONDS
npx vitest run --config test/system/vitest.config.ts --reporter=default --reporter=json \
  --outputFile.json="$report" "$@" || status=$?
if [ ! -s "$report" ]; then
  write_report failed "vitest exited $status without writing a report"
  status=1
fi
# One line per generation (the describe blocks' names end in its label), and (in a whole run, without
# VITEST_ARGS) no test may be skipped.
WHOLE_RUN=$([ $# -eq 0 ] && echo 1 || echo 0) node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  const by = {};
  for (const f of r.testResults) {
    for (const t of f.assertionResults) {
      const label = /\((Debian \d+)\)$/.exec(t.ancestorTitles[0] ?? "")?.[1] ?? "no generation";
      by[label] ??= { passed: 0, failed: 0, skipped: 0 };
      const k = t.status === "passed" ? "passed" : t.status === "failed" ? "failed" : "skipped";
      by[label][k] += 1;
    }
  }
  for (const [label, n] of Object.entries(by).sort()) {
    console.error(`test-system: ${label}: ${n.passed} passed, ${n.failed} failed, ${n.skipped} skipped`);
  }
  if (process.env.WHOLE_RUN === "1" && r.numPendingTests + r.numTodoTests > 0) {
    console.error(`test-system: ${r.numPendingTests + r.numTodoTests} tests were skipped; this tier skips none`);
    process.exit(1);
  }
' "$report" || status=1
echo "test-system: vitest took $((SECONDS - t1)) s" >&2
exit "$status"
