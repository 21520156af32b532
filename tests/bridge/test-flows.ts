/** The flows the Node-RED bridge test deploys: a 10 Hz reader, a flood, an operation endpoint, results. */
const z = 'tab-test';
const fn = (id: string, func: string, wires: string[][], outputs = 1) => ({ id, type: 'function', z, name: id, func, outputs, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], x: 300, y: 100, wires });
const httpIn = (id: string, method: string, url: string, wires: string[]) => ({ id, type: 'http in', z, name: id, url, method, upload: false, swaggerDoc: '', x: 100, y: 100, wires: [wires] });
const httpOut = (id: string) => ({ id, type: 'http response', z, name: id, statusCode: '', headers: {}, x: 500, y: 100, wires: [] });
const catchOf = (id: string, scope: string[], wires: string[]) => ({ id, type: 'catch', z, name: id, scope, uncaught: false, x: 100, y: 300, wires: [wires] });

export function testFlows(): unknown[] {
  return [
    { id: z, type: 'tab', label: 'bridge test' },
    { id: 'gw', type: 'passerelle-gateway', name: 'test gateway', socket: '' },
    // 10 Hz reads of a polled point.
    { id: 'tick', type: 'inject', z, name: '10 Hz', props: [{ p: 'payload' }], repeat: '0.1', crontab: '', once: true, onceDelay: 0.1, topic: '', payload: '', payloadType: 'date', x: 100, y: 40, wires: [['read10']] },
    { id: 'read10', type: 'passerelle read', z, name: '', gateway: 'gw', mode: 'point', device: 'soil', point: 'moisture', x: 300, y: 40, wires: [['count10']] },
    fn('count10', "global.set('ok10', (global.get('ok10') || 0) + 1); return null;", [[]]),
    catchOf('catch10', ['read10'], ['err10']),
    fn('err10', "const e = global.get('err10') || {}; e[msg.error.code] = (e[msg.error.code] || 0) + 1; global.set('err10', e); return null;", [[]]),
    // Readings as they happen, filtered by the in node.
    { id: 'inSoil', type: 'passerelle in', z, name: '', gateway: 'gw', kind: 'readings', match: 'soil.moisture', x: 100, y: 160, wires: [['inCount']] },
    fn('inCount', "const t = global.get('inTopics') || {}; t[msg.topic] = (t[msg.topic] || 0) + 1; global.set('inTopics', t); return null;", [[]]),
    // A flood: 60 register reads at once, over every bound (1 per line, 16 per client, 32 in the node).
    // Kept small: Node-RED's own handling of many messages on a loaded machine is not what is measured.
    httpIn('floodIn', 'post', '/test/flood', ['floodFn']),
    fn('floodFn', "global.set('flood', { at: Date.now(), busyAt: null, ok: 0, busy: 0, other: 0 }); const out = []; for (let i = 0; i < 60; i++) out.push({ payload: i }); msg.payload = { started: true }; return [out, msg];", [['floodRead'], ['floodOut']], 2),
    httpOut('floodOut'),
    { id: 'floodRead', type: 'passerelle read', z, name: '', gateway: 'gw', mode: 'registers', bus: 'line', unit: '1', fn: '3', address: '0', count: '3', x: 300, y: 200, wires: [['floodOk']] },
    fn('floodOk', "const f = global.get('flood'); f.ok++; return null;", [[]]),
    catchOf('floodCatch', ['floodRead'], ['floodErr']),
    fn('floodErr', "const f = global.get('flood'); if (msg.error.code === 'BUSY') { f.busy++; if (!f.busyAt) f.busyAt = Date.now(); } else f.other++; return null;", [[]]),
    // One operation per POST: write or virtual point; 200 once done, 409 with the error code.
    httpIn('opIn', 'post', '/test/op', ['opFn']),
    fn('opFn', "msg.device = msg.payload.device; msg.point = msg.payload.point; const op = msg.payload.op; msg.payload = msg.payload.value; return [op === 'write' ? msg : null, op === 'point' ? msg : null];", [['opWrite'], ['opPoint']], 2),
    { id: 'opWrite', type: 'passerelle write', z, name: '', gateway: 'gw', device: '', point: '', x: 500, y: 260, wires: [['opOk']] },
    { id: 'opPoint', type: 'passerelle point', z, name: '', gateway: 'gw', device: '', point: '', x: 500, y: 300, wires: [['opOk']] },
    fn('opOk', 'msg.payload = { ok: true }; return msg;', [['opOut']]),
    catchOf('opCatch', ['opWrite', 'opPoint'], ['opErr']),
    fn('opErr', 'msg.payload = { code: msg.error.code, message: msg.error.message }; msg.statusCode = 409; return msg;', [['opOut']]),
    httpOut('opOut'),
    // What the flows saw.
    httpIn('resIn', 'get', '/test/results', ['resFn']),
    fn('resFn', "msg.payload = { inTopics: global.get('inTopics') || {}, ok10: global.get('ok10') || 0, err10: global.get('err10') || {}, flood: global.get('flood') || null }; return msg;", [['resOut']]),
    httpOut('resOut'),
  ];
}
