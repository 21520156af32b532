#!/usr/bin/env bash
# Builds the offline Debian package: npm run package -- --arch arm64|x64
#   -> dist/passerelle_<version>_<arm64|amd64>.deb
# Inside: Node 24 (deploy/node-runtime.sh) under /opt/passerelle/node, dist/ and the production
# node_modules with native modules for the target under /opt/passerelle/app, the unit, udev rules,
# modules-load.d, sysusers.d, tmpfiles.d, maintainer scripts, a CycloneDX SBOM and a SHA-256 manifest.
# Native modules: better-sqlite3-multiple-ciphers compiled from source (cross-compiled with Debian's
# g++-aarch64-linux-gnu for arm64) against the bundled Node's headers; serialport and cbor-extract
# ship prebuilds for the target, all others are pruned. No network or compiler is needed on site.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
arch=""
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch="${2:-}"; shift 2 ;;
    --arch=*) arch="${1#--arch=}"; shift ;;
    *) echo "package: unknown argument '$1' (usage: npm run package -- --arch arm64|x64)" >&2; exit 2 ;;
  esac
done
case "$arch" in
  arm64) debarch=arm64; gnu=aarch64-linux-gnu ;;
  x64) debarch=amd64; gnu=x86_64-linux-gnu ;;
  *) echo "package: --arch arm64 or --arch x64" >&2; exit 2 ;;
esac
version="$(node -p 'require(process.argv[1]).version' "$repo/package.json")"
work="$repo/.package/$arch"
root="$work/root"
deb="$repo/dist/passerelle_${version}_${debarch}.deb"
t0=$SECONDS
say() { printf 'package %s: %s (%d s)\n' "$arch" "$1" "$((SECONDS - t0))"; }

say "TypeScript build (dist/)"
(cd "$repo" && npm run --silent build)

say "Node runtime"
"$repo/deploy/node-runtime.sh" "$arch" "$work/node"
node_version="$("$repo/deploy/node-runtime.sh" --version)"

say "production node_modules for linux-$arch"
rm -rf "$work/app" && mkdir -p "$work/app"
# Without scripts: `prepare` (tsc) needs dev dependencies, and dist/ is already built.
node -e 'const p=require(process.argv[1]); delete p.scripts; process.stdout.write(JSON.stringify(p,null,2))' "$repo/package.json" >"$work/app/package.json"
cp "$repo/package-lock.json" "$work/app/"
# better-sqlite3-multiple-ciphers is always compiled (its prebuilds would be downloaded, which a build
# must not depend on). serialport and cbor-extract ship prebuilds for the target; in a cross build their
# install check cannot load them on the build host and compiles a copy, which prune.sh drops.
cross=()
if [ "$arch" = arm64 ] && [ "$(uname -m)" != aarch64 ]; then
  cross=(CC="$gnu-gcc" CXX="$gnu-g++" LINK="$gnu-g++" AR="$gnu-ar" STRIP="$gnu-strip")
fi
(cd "$work/app" && env "${cross[@]}" npm_config_arch="$arch" npm_config_target_arch="$arch" \
  npm_config_nodedir="$work/node" npm_config_build_from_source=better-sqlite3-multiple-ciphers \
  npm ci --omit=dev --no-audit --no-fund --cpu="$arch" --os=linux --libc=glibc)
node "$repo/deploy/package/sbom.mjs" "$work/app" "$work/node" "$arch" "$node_version" >"$work/sbom.cdx.json"
"$repo/deploy/package/prune.sh" "$work/app/node_modules" "$arch" "$gnu"

say "package tree"
rm -rf "$root" && mkdir -p "$root"
install -d "$root/opt/passerelle/node/bin" "$root/opt/passerelle/app"
install -m 0755 "$work/node/bin/node" "$root/opt/passerelle/node/bin/node"
install -m 0644 "$work/node/LICENSE" "$root/opt/passerelle/node/LICENSE"
cp -r "$repo/dist/." "$root/opt/passerelle/app/dist/"
rm -f "$root/opt/passerelle/app/dist"/passerelle_*.deb
cp -r "$repo/hardware" "$repo/config" "$repo/flows" "$repo/nodered" "$work/app/node_modules" "$root/opt/passerelle/app/"
install -m 0644 "$work/app/package.json" "$repo/README.md" "$root/opt/passerelle/app/"
install -D -m 0755 "$repo/deploy/package/passerelle.sh" "$root/usr/bin/passerelle"
install -D -m 0644 "$repo/deploy/passerelle.service" "$root/usr/lib/systemd/system/passerelle.service"
install -m 0644 "$repo/deploy/passerelle-nodered.service" "$root/usr/lib/systemd/system/passerelle-nodered.service"
# Wanted by the gateway from the package itself: it starts only when the site says supervisor: systemd
# (its ExecCondition skips it otherwise), so it needs no enabling by hand.
install -d "$root/usr/lib/systemd/system/passerelle.service.wants"
ln -s ../passerelle-nodered.service "$root/usr/lib/systemd/system/passerelle.service.wants/passerelle-nodered.service"
install -D -m 0644 "$repo/deploy/udev/60-passerelle.rules" "$root/usr/lib/udev/rules.d/60-passerelle.rules"
install -D -m 0644 "$repo/deploy/package/modules-load.conf" "$root/usr/lib/modules-load.d/passerelle.conf"
install -D -m 0644 "$repo/deploy/package/sysusers.conf" "$root/usr/lib/sysusers.d/passerelle.conf"
install -D -m 0644 "$repo/deploy/package/tmpfiles.conf" "$root/usr/lib/tmpfiles.d/passerelle.conf"
doc="$root/usr/share/doc/passerelle"
install -D -m 0644 "$repo/deploy/package/copyright" "$doc/copyright"
install -m 0644 "$repo/docs/install.md" "$repo/docs/node-red.md" "$doc/"
install -D -m 0644 "$repo/config/example-school.yaml" "$doc/examples/site.yaml"
printf 'passerelle (%s) stable; urgency=medium\n\n  * Release %s, see README.md.\n\n -- Passerelle maintainers <passerelle@example.org>  %s\n' \
  "$version" "$version" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}")" | gzip -9n >"$doc/changelog.gz"

install -D -m 0644 "$repo/deploy/package/lintian-overrides" "$root/usr/share/lintian/overrides/passerelle"

say "SBOM and manifest"
install -m 0644 "$work/sbom.cdx.json" "$doc/sbom.cdx.json"
(cd "$root" && find opt usr -type f ! -path usr/share/doc/passerelle/MANIFEST.sha256 -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) >"$doc/MANIFEST.sha256"

say "control"
install -d "$root/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "$repo/deploy/package/$s" "$root/DEBIAN/$s"; done
size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$debarch/" -e "s/@SIZE@/$size/" "$repo/deploy/package/control" >"$root/DEBIAN/control"
find "$root" -type d -exec chmod 0755 {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
say "built $deb ($(du -h "$deb" | cut -f1))"
