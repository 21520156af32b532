/**
 * `passerelle ports`: the serial adapters plugged in (from sysfs), with vendor, product, serial number,
 * driver and USB port, and the stable path to paste into a site config: the /dev/passerelle/ names that
 * deploy/udev/60-passerelle.rules creates (by serial number, or by physical USB port for adapters without
 * one, such as the CH340). Warns about adapters that cannot be told apart by serial number.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';

export interface SerialAdapter {
  readonly tty: string;
  readonly device: string;
  readonly vendorId?: string;
  readonly productId?: string;
  readonly manufacturer?: string;
  readonly product?: string;
  readonly serial?: string;
  readonly driver?: string;
  /** The USB port path, e.g. 1-1.3: the same physical socket gives the same path. */
  readonly usbPort?: string;
  /** FTDI latency timer in ms (1 is what the udev rules set). */
  readonly latencyMs?: number;
  /** The stable name to use in a config, when udev made one. */
  readonly stablePath?: string;
}

/** Serial ports that have hardware behind them (USB adapters, the Pi's UARTs). */
const SERIAL_TTY = /^tty(USB|ACM|AMA|AMC)\d+$|^ttyS\d+$/;

const readAttr = (dir: string, name: string): string | undefined => {
  try {
    return readFileSync(join(dir, name), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
};

/** The nearest ancestor of `dir` (itself included) that has the attribute `name`. */
function ancestorWith(dir: string, name: string, stop: string): string | undefined {
  for (let d = dir; d.startsWith(stop) && d !== stop; d = dirname(d)) if (existsSync(join(d, name))) return d;
  return undefined;
}

/** Symlinks under the given /dev subfolders that point at /dev/<tty>, best first. */
function stableLinks(dev: string, tty: string): string[] {
  const found: string[] = [];
  for (const sub of ['passerelle/by-serial', 'passerelle/by-port', 'serial/by-id', 'serial/by-path']) {
    const dir = join(dev, sub);
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      try {
        if (basename(resolve(dir, readlinkSync(join(dir, name)))) === tty) found.push(join('/dev', sub, name));
      } catch {
        // not a link
      }
    }
  }
  return found;
}

export function listSerialAdapters(sys = '/sys', dev = '/dev'): SerialAdapter[] {
  const classDir = join(sys, 'class', 'tty');
  let ttys: string[];
  try {
    ttys = readdirSync(classDir).filter((t) => SERIAL_TTY.test(t));
  } catch {
    return [];
  }
  const adapters: SerialAdapter[] = [];
  for (const tty of ttys.sort(byNumber)) {
    const link = join(classDir, tty, 'device');
    if (!existsSync(link)) continue;
    const device = realpathSync(link);
    const driver = existsSync(join(device, 'driver')) ? basename(realpathSync(join(device, 'driver'))) : undefined;
    // Legacy 8250 ports with no UART behind them have the serial8250 driver and no hardware.
    if (tty.startsWith('ttyS') && driver === 'serial8250') continue;
    const devicesRoot = realpathSync(sys);
    const usb = ancestorWith(device, 'idVendor', devicesRoot);
    adapters.push({
      tty,
      device: `/dev/${tty}`,
      vendorId: usb && readAttr(usb, 'idVendor'),
      productId: usb && readAttr(usb, 'idProduct'),
      manufacturer: usb && readAttr(usb, 'manufacturer'),
      product: usb && readAttr(usb, 'product'),
      serial: usb && readAttr(usb, 'serial'),
      usbPort: usb && basename(usb),
      driver,
      latencyMs: Number(readAttr(device, 'latency_timer')) || undefined,
      stablePath: stableLinks(dev, tty)[0],
    });
  }
  return adapters;
}

const byNumber = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/** Groups of USB adapters that udev cannot name apart by serial number (same model, same or no serial). */
export function indistinguishable(adapters: readonly SerialAdapter[]): SerialAdapter[][] {
  const groups = new Map<string, SerialAdapter[]>();
  for (const a of adapters) {
    if (!a.vendorId) continue;
    const key = `${a.vendorId}:${a.productId}:${a.serial ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), a]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

export function renderPorts(adapters: readonly SerialAdapter[]): string {
  if (adapters.length === 0) return 'no serial adapter found (plug one in, then run passerelle ports again)\n';
  const lines: string[] = [];
  for (const a of adapters) {
    const model = [a.manufacturer, a.product].filter(Boolean).join(' ') || 'built-in UART';
    const ids = a.vendorId ? `${a.vendorId}:${a.productId}` : '';
    const facts = [ids, model, a.serial ? `serial ${a.serial}` : a.vendorId ? 'no serial number' : '', a.driver, a.usbPort ? `USB port ${a.usbPort}` : '']
      .filter(Boolean)
      .join('  ');
    lines.push(`${a.device}  ${facts}${a.latencyMs ? `  latency ${a.latencyMs} ms` : ''}`);
    lines.push(`    port: ${a.stablePath ?? a.device}${a.stablePath ? '' : a.vendorId ? '   (no stable name: are the udev rules installed? see docs/install.md)' : ''}`);
  }
  for (const group of indistinguishable(adapters)) {
    const [first] = group;
    lines.push(
      `warning: ${group.map((a) => a.device).join(', ')} are the same model (${first!.vendorId}:${first!.productId}) ` +
        `${first!.serial ? `with the same serial number ${first!.serial}` : 'without a serial number'}: they cannot be told apart ` +
        'by serial; use their /dev/passerelle/by-port/ names and keep each adapter in its USB socket',
    );
  }
  return `${lines.join('\n')}\n`;
}

export function registerPortsCommand(program: Command): void {
  program
    .command('ports')
    .description('list serial adapters with vendor, product, serial number and the stable path to put in a site config')
    .option('--json', 'one JSON array instead of text', false)
    .action((o: { json: boolean }) => {
      const adapters = listSerialAdapters();
      process.stdout.write(o.json ? `${JSON.stringify({ adapters, indistinguishable: indistinguishable(adapters).map((g) => g.map((a) => a.device)) })}\n` : renderPorts(adapters));
    });
}
