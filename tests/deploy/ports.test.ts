/**
 * `passerelle ports` on a sysfs and /dev laid out as the kernel and udev (deploy/udev/60-passerelle.rules)
 * lay them out: an FTDI with a serial number, two CH340 without one, a CDC-ACM device.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { indistinguishable, listSerialAdapters, renderPorts } from '../../src/cli/commands/ports.js';

let root: string;
const sys = () => join(root, 'sys');
const dev = () => join(root, 'dev');

async function link(target: string, at: string): Promise<void> {
  await mkdir(join(at, '..'), { recursive: true });
  await symlink(relative(join(at, '..'), target), at);
}

interface Fake {
  tty: string;
  usbPort: string;
  attrs: Record<string, string>;
  driver: string;
  /** usb-serial adapters have a port dir under the interface; CDC-ACM ttys hang off the interface. */
  usbSerial: boolean;
  latency?: string;
}

async function plug(f: Fake): Promise<void> {
  const usb = join(sys(), 'devices', 'platform', 'xhci', 'usb1', f.usbPort);
  const iface = join(usb, `${f.usbPort}:1.0`);
  await mkdir(iface, { recursive: true });
  for (const [k, v] of Object.entries(f.attrs)) await writeFile(join(usb, k), `${v}\n`);
  await writeFile(join(iface, 'bInterfaceNumber'), '00\n');
  const device = f.usbSerial ? join(iface, f.tty) : iface;
  await mkdir(join(device, 'tty', f.tty), { recursive: true });
  if (f.latency) await writeFile(join(device, 'latency_timer'), `${f.latency}\n`);
  const drivers = join(sys(), 'bus', 'usb-serial', 'drivers', f.driver);
  await mkdir(drivers, { recursive: true });
  await link(drivers, join(device, 'driver'));
  await link(device, join(device, 'tty', f.tty, 'device'));
  await link(join(device, 'tty', f.tty), join(sys(), 'class', 'tty', f.tty));
  await writeFile(join(dev(), f.tty), '');
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'passerelle-ports-'));
  await mkdir(dev(), { recursive: true });
  await plug({ tty: 'ttyUSB0', usbPort: '1-1.2', driver: 'ftdi_sio', usbSerial: true, latency: '1', attrs: { idVendor: '0403', idProduct: '6001', manufacturer: 'FTDI', product: 'FT232R USB UART', serial: 'A50285BI' } });
  await plug({ tty: 'ttyUSB1', usbPort: '1-1.3', driver: 'ch341-uart', usbSerial: true, attrs: { idVendor: '1a86', idProduct: '7523', product: 'USB Serial' } });
  await plug({ tty: 'ttyUSB2', usbPort: '1-1.4', driver: 'ch341-uart', usbSerial: true, attrs: { idVendor: '1a86', idProduct: '7523', product: 'USB Serial' } });
  await plug({ tty: 'ttyACM0', usbPort: '1-1.5', driver: 'cdc_acm', usbSerial: false, attrs: { idVendor: '2341', idProduct: '0043', manufacturer: 'Arduino', serial: '7523733353635' } });
  // What the udev rules create (relative links, as udev makes them).
  await link(join(dev(), 'ttyUSB0'), join(dev(), 'passerelle', 'by-serial', '0403-6001-A50285BI-if00'));
  await link(join(dev(), 'ttyUSB0'), join(dev(), 'passerelle', 'by-port', 'platform-xhci-usb-0_1_2_1_0'));
  await link(join(dev(), 'ttyUSB1'), join(dev(), 'passerelle', 'by-port', 'platform-xhci-usb-0_1_3_1_0'));
  await link(join(dev(), 'ttyUSB2'), join(dev(), 'passerelle', 'by-port', 'platform-xhci-usb-0_1_4_1_0'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('passerelle ports', () => {
  it('lists each adapter with vendor, product, serial, driver, USB port and its stable name', () => {
    const adapters = listSerialAdapters(sys(), dev());
    expect(adapters.map((a) => a.tty)).toEqual(['ttyACM0', 'ttyUSB0', 'ttyUSB1', 'ttyUSB2']);
    expect(adapters.find((a) => a.tty === 'ttyUSB0')).toEqual({
      tty: 'ttyUSB0',
      device: '/dev/ttyUSB0',
      vendorId: '0403',
      productId: '6001',
      manufacturer: 'FTDI',
      product: 'FT232R USB UART',
      serial: 'A50285BI',
      usbPort: '1-1.2',
      driver: 'ftdi_sio',
      latencyMs: 1,
      stablePath: '/dev/passerelle/by-serial/0403-6001-A50285BI-if00',
    });
    const ch340 = adapters.find((a) => a.tty === 'ttyUSB1')!;
    expect(ch340.serial).toBeUndefined();
    expect(ch340.stablePath).toBe('/dev/passerelle/by-port/platform-xhci-usb-0_1_3_1_0');
    const acm = adapters.find((a) => a.tty === 'ttyACM0')!;
    expect(acm).toMatchObject({ vendorId: '2341', driver: 'cdc_acm', serial: '7523733353635', usbPort: '1-1.5' });
    expect(acm.stablePath).toBeUndefined();
  });

  it('warns about two adapters of one model without a serial number, and only about those', () => {
    const adapters = listSerialAdapters(sys(), dev());
    expect(indistinguishable(adapters).map((g) => g.map((a) => a.tty))).toEqual([['ttyUSB1', 'ttyUSB2']]);
    const text = renderPorts(adapters);
    expect(text).toMatch(/warning: \/dev\/ttyUSB1, \/dev\/ttyUSB2 are the same model \(1a86:7523\) without a serial number/);
    expect(text).toContain('    port: /dev/passerelle/by-serial/0403-6001-A50285BI-if00');
    expect(text).toMatch(/\/dev\/ttyACM0 .*\n    port: \/dev\/ttyACM0 {3}\(no stable name: are the udev rules installed/);
  });

  it('says so when nothing is plugged in', () => {
    expect(listSerialAdapters(join(root, 'nosys'), dev())).toEqual([]);
    expect(renderPorts([])).toMatch(/^no serial adapter found/);
  });
});
