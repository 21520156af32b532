#!/usr/bin/env bash
# Checks a built package before it goes to a site (CI runs it on the arm64 .deb):
#  - dpkg-deb reads it, lintian finds no error, shellcheck passes on the maintainer scripts;
#  - every ELF file is for the package's arch and needs glibc <= 2.36 (Debian bookworm), no build leftovers;
#  - the packaged Node (under qemu-aarch64-static for arm64) opens an encrypted store, writes, reopens,
#    refuses a wrong key, loads the serial bindings, and `passerelle check` accepts the example config.
# Usage: deploy/package/check.sh dist/passerelle_<version>_<arch>.deb
set -euo pipefail
deb="$(realpath "${1:?usage: check.sh PACKAGE.deb}")"
here="$(cd "$(dirname "$0")" && pwd)"
MAX_GLIBC=2.36
x="$(mktemp -d)"
trap 'rm -rf "$x"' EXIT
fail() { echo "check: $*" >&2; exit 1; }
t0=$SECONDS
say() { printf 'check: %s (%d s)\n' "$1" "$((SECONDS - t0))"; }

say "dpkg-deb -I/-c"
dpkg-deb -I "$deb" >"$x/info"
dpkg-deb -c "$deb" >"$x/contents"
arch="$(dpkg-deb -f "$deb" Architecture)"
for f in ./opt/passerelle/node/bin/node ./opt/passerelle/app/dist/cli/main.js ./usr/bin/passerelle \
  ./usr/lib/systemd/system/passerelle.service ./usr/lib/systemd/system/passerelle-nodered.service \
  ./opt/passerelle/app/node_modules/node-red/red.js ./usr/share/doc/passerelle/node-red.md \
  ./usr/lib/udev/rules.d/60-passerelle.rules \
  ./usr/lib/modules-load.d/passerelle.conf ./usr/lib/sysusers.d/passerelle.conf ./usr/lib/tmpfiles.d/passerelle.conf \
  ./usr/share/doc/passerelle/sbom.cdx.json ./usr/share/doc/passerelle/MANIFEST.sha256; do
  grep -q " $f\$" "$x/contents" || fail "missing $f"
done

say "lintian"
# Errors fail; the package's own overrides (usr/share/lintian/overrides/passerelle) say why each is accepted.
lintian --fail-on error "$deb" >"$x/lintian" || { grep '^E:' "$x/lintian" | head -40; fail "lintian found errors"; }
echo "  lintian: no error, $(grep -c '^W:' "$x/lintian" || true) warnings"

say "shellcheck on the maintainer scripts"
dpkg-deb -e "$deb" "$x/control"
shellcheck -s sh "$x/control/postinst" "$x/control/prerm" "$x/control/postrm"

say "ELF files: arch and glibc"
dpkg-deb -x "$deb" "$x/root"
case "$arch" in arm64) machine=AArch64 ;; amd64) machine="X86-64" ;; *) fail "unknown arch $arch" ;; esac
n=0
while IFS= read -r -d '' f; do
  head -c 4 "$f" | grep -q $'\x7fELF' || continue
  n=$((n + 1))
  readelf -h "$f" | grep -q "Machine:.*$machine" || fail "$f is not $machine: $(readelf -h "$f" | grep Machine:)"
  need="$(readelf -V --wide "$f" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)"
  if [ -n "$need" ] && [ "$(printf '%s\n%s\n' "$need" "$MAX_GLIBC" | sort -V | tail -1)" != "$MAX_GLIBC" ]; then
    fail "$f needs glibc $need (> $MAX_GLIBC, Debian bookworm)"
  fi
  echo "  ${f#"$x/root"}: $machine, glibc >= ${need:-none}"
done < <(find "$x/root" -type f \( -name '*.node' -o -path '*/bin/node' \) -print0)
[ "$n" -ge 4 ] || fail "expected Node and at least 3 native modules, found $n ELF files"
if find "$x/root" -path '*/build/*' ! -path '*/build/Release/*.node' -type f | grep -q .; then
  fail "build leftovers: $(find "$x/root" -path '*/build/*' ! -path '*/build/Release/*.node' -type f | head -3)"
fi

say "manifest"
(cd "$x/root" && sha256sum --quiet -c usr/share/doc/passerelle/MANIFEST.sha256)

say "load test with the packaged Node"
app="$x/root/opt/passerelle/app"
node="$x/root/opt/passerelle/node/bin/node"
run=("$node")
if [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ]; then
  run=(qemu-aarch64-static -L /usr/aarch64-linux-gnu "$node")
fi
"${run[@]}" "$here/load-test.mjs" "$app"
"${run[@]}" "$app/dist/cli/main.js" check "$x/root/usr/share/doc/passerelle/examples/site.yaml"
say "ok: $deb"
