export * from './frame.js';
export * from './header.js';
export { parseUserData, CI_VARIABLE, CI_VARIABLE_SHORT, CI_VARIABLE_NONE, type MbusRecord, type MbusTelegram, type TelegramResult } from './telegram.js';
export { readVif, type ValueInfo } from './vif.js';
export { recordDataClass } from './classify.js';
export { decodeMbusCapture, type MbusCaptureOptions } from './capture.js';
export * from './encode.js';
export * from './master.js';
