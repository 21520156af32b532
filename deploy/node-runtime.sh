#!/usr/bin/env bash
# The gateway's Node runtime, from the npm registry's node-linux-<arch> package (official binary plus
# include/node for building native modules). One pinned version, checked against its recorded hash.
# Usage: deploy/node-runtime.sh ARCH DEST   (ARCH: x64 | arm64; DEST gets bin/node and include/node)
#        deploy/node-runtime.sh --version
set -euo pipefail
NODE_RUNTIME_VERSION=24.22.3 # Node 24 LTS, supported until 2028-04-30
declare -A INTEGRITY=(
  [x64]=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
  [arm64]=sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==
)
[ "${1:-}" = --version ] && { echo "$NODE_RUNTIME_VERSION"; exit 0; }
arch="${1:?usage: node-runtime.sh x64|arm64 DEST}"
dest="${2:?usage: node-runtime.sh x64|arm64 DEST}"
[ -n "${INTEGRITY[$arch]:-}" ] || { echo "node-runtime: no Node runtime recorded for arch '$arch' (x64, arm64)" >&2; exit 2; }
if [ -x "$dest/bin/node" ] && [ "$(cat "$dest/.version" 2>/dev/null)" = "$arch-$NODE_RUNTIME_VERSION" ]; then exit 0; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "node-linux-$arch@$NODE_RUNTIME_VERSION" >/dev/null)
tgz="$work/node-linux-$arch-$NODE_RUNTIME_VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
[ "$got" = "${INTEGRITY[$arch]}" ] || { echo "node-runtime: node-linux-$arch@$NODE_RUNTIME_VERSION does not match its recorded hash" >&2; exit 1; }
rm -rf "$dest" && mkdir -p "$dest"
tar -xzf "$tgz" -C "$dest" --strip-components=1
echo "$arch-$NODE_RUNTIME_VERSION" >"$dest/.version"
