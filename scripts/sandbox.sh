#!/usr/bin/env bash
# `make run`: bootc-storaged on a sandbox anyone can try without a bootc host. Everything lives in ./.run:
# a sysroot, a run dir, a local registry with a demo image. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=$PWD/.run
mkdir -p "$RUN"/{sysroot,run,registry,build,ctx}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

port=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
REG=127.0.0.1:$port
cat > "$RUN/registry/config.yml" <<YML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $RUN/registry/data}}
http: {addr: $REG}
YML
docker-registry serve "$RUN/registry/config.yml" >"$RUN/registry/log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -fsS "http://$REG/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$REG" >"$RUN/registries.conf"
export CONTAINERS_REGISTRIES_CONF=$RUN/registries.conf

echo "bootc storage sandbox demo" >"$RUN/ctx/hello.txt"
printf 'FROM scratch\nCOPY hello.txt /hello.txt\n' >"$RUN/ctx/Containerfile"
podman --root "$RUN/build/root" --runroot "$RUN/build/run" build -q -t "$REG/demo/hello:latest" "$RUN/ctx" >/dev/null 2>&1
podman --root "$RUN/build/root" --runroot "$RUN/build/run" push -q --tls-verify=false "$REG/demo/hello:latest" 2>/dev/null

node dist/daemon.js --sysroot "$RUN/sysroot" --run "$RUN/run" --self-check
cat <<TXT

Sandbox ready: store at $RUN/sysroot/ostree/bootc/storage, registry at $REG with $REG/demo/hello:latest.
The D-Bus daemon is not wired yet; this run proved the storage engine on this host.
TXT
