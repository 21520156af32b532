#!/usr/bin/env bash
# Installs Passerelle on a Raspberry Pi OS / Debian gateway: a system user, /opt/passerelle,
# /etc/passerelle (config and secrets, 0700) and the systemd unit. Run as root from a checkout.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "run as root (sudo $0)" >&2; exit 1; }
src="$(cd "$(dirname "$0")/.." && pwd)"

command -v node >/dev/null || { echo "Node.js >= 20 is required (apt-get install nodejs)" >&2; exit 1; }
id passerelle >/dev/null 2>&1 || useradd --system --home /var/lib/passerelle --shell /usr/sbin/nologin passerelle
usermod -aG dialout passerelle

install -d -m 0755 /opt/passerelle
cp -a "$src/package.json" "$src/package-lock.json" "$src/tsconfig.json" "$src/tsconfig.build.json" "$src/src" "$src/hardware" "$src/config" /opt/passerelle/
(cd /opt/passerelle && npm ci --no-audit --no-fund && npm prune --omit=dev)

install -d -m 0700 -o passerelle -g passerelle /etc/passerelle /var/lib/passerelle
if [ ! -f /etc/passerelle/site.yaml ]; then
  install -m 0600 -o passerelle -g passerelle "$src/config/example-school.yaml" /etc/passerelle/site.yaml
  echo "edit /etc/passerelle/site.yaml, then: passerelle check /etc/passerelle/site.yaml"
fi
install -m 0644 "$src/deploy/passerelle.service" /etc/systemd/system/passerelle.service
systemctl daemon-reload
echo "start with: systemctl enable --now passerelle"
