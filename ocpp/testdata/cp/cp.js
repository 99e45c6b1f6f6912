// A charge point for gridbox's OCPP tests, built on the independent
// ocpp-rpc library in strict mode: every message both ways is checked
// against the official OCPP 1.6 JSON schemas.
//
// usage: node cp.js <ws-endpoint> <identity> <password|-> [unit]
//   unit: the ChargingScheduleAllowedChargingRateUnit reported (Current).
// stdin: one JSON command a line, {"call": "<Action>", "params": {...}}
//   or {"close": true}.
// stdout: one JSON line per event: {"event": "open"}, {"result": <id>,
//   "call": ..., "ok": ...}, {"incoming": "<Action>", "params": ...}.
'use strict';
const { RPCClient } = require('ocpp-rpc');
const readline = require('readline');

const [endpoint, identity, password, unit] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const cli = new RPCClient({
    endpoint, identity,
    password: password === '-' ? undefined : password,
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
});

const answers = {
    SetChargingProfile: { status: 'Accepted' },
    ClearChargingProfile: { status: 'Accepted' },
    ChangeAvailability: { status: 'Accepted' },
    ChangeConfiguration: { status: 'Accepted' },
    RemoteStartTransaction: { status: 'Accepted' },
    RemoteStopTransaction: { status: 'Accepted' },
    TriggerMessage: { status: 'Accepted' },
    Reset: { status: 'Accepted' },
    UnlockConnector: { status: 'Unlocked' },
    GetConfiguration: {
        configurationKey: [{ key: 'ChargingScheduleAllowedChargingRateUnit', readonly: true, value: unit || 'Current' }],
    },
};
for (const [method, answer] of Object.entries(answers)) {
    cli.handle(method, ({ params }) => {
        out({ incoming: method, params });
        return answer;
    });
}
cli.on('badMessage', ({ error }) => out({ event: 'badMessage', error: String(error) }));
let opened = false;
cli.on('close', () => { if (opened) { out({ event: 'close' }); process.exit(0); } });

async function main() {
    try {
        await cli.connect();
    } catch (err) {
        out({ event: 'refused', error: String(err && err.message) });
        process.exit(2);
    }
    opened = true;
    out({ event: 'open' });
    const rl = readline.createInterface({ input: process.stdin });
    let n = 0;
    for await (const line of rl) {
        if (!line.trim()) continue;
        const cmd = JSON.parse(line);
        if (cmd.close) { await cli.close({ code: 1000 }); return; }
        const id = ++n;
        try {
            const res = await cli.call(cmd.call, cmd.params);
            out({ result: id, call: cmd.call, ok: res });
        } catch (err) {
            out({ result: id, call: cmd.call, error: String(err && (err.rpcErrorCode || err.message)) });
        }
    }
    await cli.close({ code: 1000 });
}
main();
