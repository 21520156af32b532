/**
 * Registers `passerelle fleet …` and `passerelle config apply`; their code (keys, MQTT) loads only when
 * one of them runs.
 */
import type { Command } from 'commander';
import type { SignOpts, TrustOpts } from './fleet.js';

const actions = () => import('./fleet.js');

const brokerOptions = (c: Command): Command =>
  c
    .requiredOption('--broker <url>', 'broker URL, e.g. mqtts://broker.example:8883')
    .option('--ca <file>', 'CA certificate of the broker')
    .option('--cert <file>', 'client certificate (the fleet service)')
    .option('--client-key <file>', 'client key')
    .option('--prefix <prefix>', 'config topic prefix', 'pas/v1');

export function registerFleetCommands(program: Command): void {
  const fleet = program.command('fleet').description('operator side of signed remote configuration (docs/remote-config.md)');
  fleet.command('keygen').description('make an Ed25519 key pair (private key 0600; never inside a repository)')
    .requiredOption('--out <dir>', 'directory on the signer').requiredOption('--name <name>', 'file name, e.g. alice-policy')
    .action(async (o) => (await actions()).keygen(o));
  fleet.command('trust').description('make and sign a trust file')
    .requiredOption('--version <n>', 'trust version (1, then +1 each change)')
    .requiredOption('--root <pubs>', 'root public key files, comma-separated').option('--root-threshold <n>', 'root threshold', '2')
    .requiredOption('--config <pubs>', 'config role keys').requiredOption('--policy <pubs>', 'policy role keys').option('--policy-threshold <n>', 'policy threshold', '2')
    .requiredOption('--head <pubs>', 'head (freshness) keys')
    .option('--trial-min <s>', 'shortest trial, seconds', '60').option('--trial-max <s>', 'longest trial, seconds', '900')
    .option('--expires <duration>', 'validity', '365d')
    .requiredOption('--sign <keys>', 'private key files that sign (root keys: previous and new when rotating)')
    .requiredOption('--out <file>', 'output, e.g. trust/2.trust.dsse.json')
    .action(async (o: TrustOpts) => (await actions()).trust(o));
  fleet.command('sign').description('sign a bundle for one gateway (or add a second signature with --add-to)')
    .option('--gateway <id>', 'target gateway').option('--site <file>', 'the new site YAML')
    .option('--running <file>', 'the config the gateway runs now: shows the policy diff and the role needed')
    .option('--status <file>', 'the gateway status (JSON): sequence = last + 1, base = running hash')
    .option('--seq <n>', 'sequence number').option('--base <hash>', 'sha256:... of the running config, or any (needs the policy role)')
    .option('--file <file...>', 'other files the site refers to, carried by their place under the site file\'s folder (e.g. nodered/flows.json); the relative profiles: folders are collected', [])
    .option('--key <file...>', 'private key files', [])
    .option('--expires <duration>', 'validity', '7d').option('--trial <duration>', 'trial duration', '3m')
    .option('--note <text>', 'free text').option('--add-to <envelope>', 'add signatures to this envelope')
    .option('--broker <url>', 'ask the gateway for its running config over MQTT: sequence, base and policy diff from its answer')
    .option('--ca <file>', 'CA certificate of the broker').option('--cert <file>', 'client certificate (the fleet service)')
    .option('--client-key <file>', 'client key').option('--prefix <prefix>', 'config topic prefix', 'pas/v1')
    .option('--fetch-wait <duration>', 'how long to wait for the gateway\'s answer', '10s')
    .requiredOption('--out <file>', 'output envelope')
    .action(async (o: SignOpts) => (await actions()).signCmd(o));
  brokerOptions(fleet.command('publish').description('publish signed bundles (retained): a canary, then growing batches, stopping on failures'))
    .argument('<files...>', 'signed bundles')
    .option('--canary <n>', 'first batch size', '1').option('--batches <list>', 'cumulative shares after the canary', '10%,50%,100%')
    .option('--abort-if <pct>', 'stop when refused + rolled back exceed this share', '5%').option('--wait <duration>', 'per batch', '10m')
    .option('--head <keyfile>', 'also publish a signed head (head role key)')
    .action(async (files: string[], o) => (await actions()).publishCmd(files, o));
  brokerOptions(fleet.command('status').description('converged, refused by reason, rolled back, dirty, offline, head age'))
    .option('--json', 'machine-readable', false).option('--wait <duration>', 'how long to collect retained statuses', '3s')
    .action(async (o) => (await actions()).statusCmd(o));
  const config = program.command('config').description('the site configuration on this gateway');
  config.command('apply').description('apply a site file the safe way: verify, stage, trial, roll back on failure')
    .argument('<file>', 'the new site YAML').requiredOption('-c, --config <file>', 'the gateway\'s site file (for its remote section)')
    .option('--wait <duration>', 'how long to wait for the outcome', '15m')
    .action(async (file: string, o) => (await actions()).configApply(file, o));
}
