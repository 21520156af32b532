/** Serial line protocol drivers (Linky TIC, SDI-12, ASCII lines) and what the gateway needs to wire them. */
export { buildSerialDrivers, isTicDevice, isSdi12Device, isLineDevice, type BuiltSerialDrivers } from './build.js';
export { TicDriver, TIC_BAUD, TIC_HUNT_MS, TIC_SILENCE_MS, type TicDriverOptions } from './tic-driver.js';
export { LineDriver, linePointInfos, lineDecoderOptionsOf, type LineDriverOptions } from './line-driver.js';
export { Sdi12Bus, Sdi12Driver, createSdi12Drivers, sdi12PointInfos, type Sdi12BusOptions, type Sdi12DeviceCounters } from './sdi12-driver.js';
export { ticPointInfos, ticPointName, ticKeptLabels } from './tic/points.js';
export { SerialLink, serialSettingsOf, loadSerialPortFactory, explainOpenError, type SerialSettings, type SerialPortLike, type SerialPortFactory, type SerialLinkStats } from './serial-link.js';
export { decodeCapture, type CaptureProtocol, type CaptureOptions } from './capture.js';
export { MbusBus, MbusDriver, createMbusDrivers, isMbusDevice, mbusPointInfos, mbusDevicePoints, type MbusBusOptions, type MbusMeterCounters } from './mbus-driver.js';
