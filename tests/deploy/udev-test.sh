#!/bin/sh
# Runs `udevadm test` on Passerelle's udev rules against fake USB serial adapters, inside a private mount
# namespace (unshare -rm: no root needed) where /sys, /dev, /run/udev and the rules directories are empty
# tmpfs: nothing reaches the machine's devices. Why not `udevadm verify`: it needs systemd >= 254 and
# Debian bookworm has 252; `udevadm test` parses the rules too (errors name FILE:LINE) and also shows
# what they do to a device: the symlinks it gets, its group and mode, the attributes written.
# Usage: udev-test.sh RULES_FILE   (prints, per adapter, "== NAME" then udevadm's output, then /dev/passerelle)
set -eu
rules="$(realpath "$1")"
[ "$(id -u)" -eq 0 ] && [ "${UDEV_TEST_IN_NS:-}" = 1 ] || exec env UDEV_TEST_IN_NS=1 unshare --user --map-root-user --mount --propagation private sh "$0" "$rules"
log="$(mktemp)"
for d in /sys /run/udev /etc/udev/rules.d /usr/lib/udev/rules.d /lib/udev/rules.d; do
  if [ -d "$d" ] && ! [ -L "$d" ]; then mount -t tmpfs tmpfs "$d"; fi
done
mkdir -p /run/udev/rules.d
cp "$rules" /usr/lib/udev/rules.d/
mount -t tmpfs tmpfs /dev

# sysfs as the kernel lays out a USB serial adapter: usb_device > usb_interface > usb-serial port > tty.
mkdir -p /sys/bus/pci /sys/bus/usb/drivers/usb /sys/bus/usb-serial/drivers /sys/class/tty
pci=/sys/devices/pci0000:00/0000:00:14.0
mkdir -p "$pci" && ln -s /sys/bus/pci "$pci/subsystem" && printf 'PCI_SLOT_NAME=0000:00:14.0\n' >"$pci/uevent"
# adapter NAME PORT VID PID SERIAL(or -) DRIVER TTY MINOR
adapter() {
  dev="$pci/usb1/1-$2"
  mkdir -p "$dev" /sys/bus/usb/drivers/"$6" /sys/bus/usb-serial/drivers/"$6"
  ln -s /sys/bus/usb "$dev/subsystem" && ln -s /sys/bus/usb/drivers/usb "$dev/driver"
  printf 'DEVTYPE=usb_device\nDRIVER=usb\nPRODUCT=%s/%s/100\nBUSNUM=001\nDEVNUM=00%s\n' "$3" "$4" "$2" >"$dev/uevent"
  echo "$3" >"$dev/idVendor" && echo "$4" >"$dev/idProduct" && echo 0100 >"$dev/bcdDevice" && echo "$1" >"$dev/product"
  [ "$5" = - ] || echo "$5" >"$dev/serial"
  intf="$dev/1-$2:1.0"
  mkdir -p "$intf" && ln -s /sys/bus/usb "$intf/subsystem" && ln -s /sys/bus/usb/drivers/"$6" "$intf/driver"
  printf 'DEVTYPE=usb_interface\nDRIVER=%s\nINTERFACE=255/255/255\n' "$6" >"$intf/uevent"
  echo 00 >"$intf/bInterfaceNumber" && echo ff >"$intf/bInterfaceClass" && echo ff >"$intf/bInterfaceSubClass" && echo ff >"$intf/bInterfaceProtocol"
  port="$intf/$7"
  mkdir -p "$port" && ln -s /sys/bus/usb-serial "$port/subsystem" && ln -s /sys/bus/usb-serial/drivers/"$6" "$port/driver"
  printf 'DRIVER=%s\n' "$6" >"$port/uevent"
  [ "$6" != ftdi_sio ] || echo 16 >"$port/latency_timer"
  tty="$port/tty/$7"
  mkdir -p "$tty" && ln -s /sys/class/tty "$tty/subsystem" && ln -s "../../../$7" "$tty/device"
  printf 'MAJOR=188\nMINOR=%s\nDEVNAME=%s\n' "$8" "$7" >"$tty/uevent" && echo "188:$8" >"$tty/dev"
  ln -s "$tty" "/sys/class/tty/$7"
  echo "== $1"
  # The rules are run on a directory tree that is not sysfs: sd-device checks that unless told not to.
  SYSTEMD_DEVICE_VERIFY_SYSFS=0 SYSTEMD_LOG_LEVEL=debug udevadm test --action=add "/sys/class/tty/$7" >"$log" 2>&1 || { cat "$log"; exit 1; }
  cat "$log"
}
adapter ftdi 2 0403 6001 A5XK3RJT ftdi_sio ttyUSB0 0
adapter ch340 3 1a86 7523 - ch341-uart ttyUSB1 1
echo "== /dev/passerelle"
find /dev/passerelle -type l -printf '%p -> %l\n' | sort
