#!/usr/bin/env bash
# Installs Passerelle from a checkout, for a development gateway that has network access and a
# compiler (npm ci builds the native modules). A site gets the offline .deb instead (docs/install.md);
# both lay out the same files and run the same configuration step (deploy/package/postinst).
# Code is root's (a copy owned by the checkout's user would let that user change the profiles, which
# set the data classes); the config is root:passerelle 0640: the service reads it, cannot change it.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "run as root (sudo $0)" >&2; exit 1; }
src="$(cd "$(dirname "$0")/.." && pwd)"
umask 022

node="$(command -v node)" || { echo "Node.js 20.19+ or 24 is required (the .deb bundles Node 24)" >&2; exit 1; }
"$node" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>=24||(a===20&&b>=19)?0:1)' ||
  { echo "Node.js $("$node" --version) is not supported: 20.19+ or 24" >&2; exit 1; }

# App: a fresh root-owned copy, built there, swapped in whole (the previous one kept as app.previous).
new=/opt/passerelle/app.new
rm -rf "$new" && install -d -m 0755 -o root -g root "$new"
cp -R --no-preserve=ownership "$src/package.json" "$src/package-lock.json" "$src/tsconfig.json" "$src/tsconfig.build.json" \
  "$src/src" "$src/hardware" "$src/config" "$src/README.md" "$new/"
(cd "$new" && npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund)
chown -R root:root "$new"
if [ -d /opt/passerelle/app ]; then rm -rf /opt/passerelle/app.previous && mv /opt/passerelle/app /opt/passerelle/app.previous; fi
mv "$new" /opt/passerelle/app
install -d -m 0755 /opt/passerelle/node/bin
ln -sfn "$node" /opt/passerelle/node/bin/node

# System files, as the .deb ships them.
install -D -m 0755 "$src/deploy/package/passerelle.sh" /usr/bin/passerelle
install -D -m 0644 "$src/deploy/passerelle.service" /etc/systemd/system/passerelle.service
install -D -m 0644 "$src/deploy/udev/60-passerelle.rules" /etc/udev/rules.d/60-passerelle.rules
install -D -m 0644 "$src/deploy/package/modules-load.conf" /etc/modules-load.d/passerelle.conf
install -D -m 0644 "$src/deploy/package/sysusers.conf" /usr/lib/sysusers.d/passerelle.conf
install -D -m 0644 "$src/deploy/package/tmpfiles.conf" /usr/lib/tmpfiles.d/passerelle.conf
install -D -m 0644 "$src/config/example-school.yaml" /usr/share/doc/passerelle/examples/site.yaml
install -D -m 0644 "$src/docs/install.md" /usr/share/doc/passerelle/install.md

# Account, directories, config ownership, store key credential, udev reload: the package's own step.
sh "$src/deploy/package/postinst" configure
echo "then: passerelle check /etc/passerelle/site.yaml && systemctl enable --now passerelle"
