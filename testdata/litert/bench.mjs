// Time .tflite files in LiteRT.js (@litertjs/core, WASM + XNNPACK, one thread) under plain Node.
// Usage: node bench.mjs MODEL.tflite [--input x.npy ...] [MODEL2.tflite [--input ...] ...]
//                       [--rounds R] [--runs N] [--warmup W] [--seed S] [--min-round-ms T]
// Every model is loaded and compiled once and warmed up with W runs; then R rounds each time N runs
// of every model in turn, the order rotating from round to round, so that drift in the machine's
// load reaches all models alike. With --min-round-ms T a model whose N runs would take less than
// T ms gets as many runs per round as fill T (estimated from 5 runs after the warm-up, at most
// 100000): a model of a few microseconds is then timed over thousands of runs, not ten. An --input (.npy of exactly the input's type and shape) belongs to
// the model before it; a model without one gets seeded random input of its type and shape (int8 and
// uint8 uniform bytes, float32 uniform in [-1, 1), int32 in [0, 16)).
// Prints one JSON line: {runtime, threads, rounds, runs, warmup, seed, minRoundMs, models: [{model,
// inputs, runs, loadMs, compileMs, medianMs, minMs, p90Ms, roundMedianMs, roundCpuMs}]}; times in milliseconds
// (runs is the model's runs per round; roundCpuMs is, per round, the process's user + system CPU
// time over the round's runs divided by their number: on a loaded machine it leaves out the time
// the process waited for a core, which the wall-clock times include).
// Any "ERROR" line LiteRT logs fails the run (exit 2), as in run.mjs.
import {createRequire} from 'node:module';
import fs from 'node:fs';
import {openLiteRt, loadModel, compileModel, describe, inputBuffer} from './litert.mjs';

const require = createRequire(import.meta.url);
const npy = require('../ort/npy.cjs');

function usage(msg) {
  console.error(`bench.mjs: ${msg}\nusage: node bench.mjs MODEL.tflite [--input x.npy ...] [MODEL2.tflite ...] [--rounds R] [--runs N] [--warmup W] [--seed S] [--min-round-ms T]`);
  process.exit(64);
}
const args = process.argv.slice(2);
const models = [];
const opt = {rounds: 5, runs: 10, warmup: 3, seed: 1, 'min-round-ms': 0};
for (let i = 0; i < args.length; i++) {
  const k = args[i], v = () => (i + 1 < args.length ? args[++i] : usage(`${k} needs a value`));
  if (k === '--input') {
    if (!models.length) usage('--input before any model');
    models[models.length - 1].inFiles.push(v());
  } else if (k.startsWith('--') && k.slice(2) in opt) {
    const n = Number(v());
    const zeroOK = k === '--warmup' || k === '--min-round-ms';
    if (!Number.isInteger(n) || n < 0 || (n === 0 && !zeroOK)) usage(`${k}: want a whole number${zeroOK ? '' : ' ≥ 1'}`);
    opt[k.slice(2)] = n;
  } else if (k.startsWith('-')) usage(`unknown flag ${k}`);
  else models.push({model: k, inFiles: []});
}
if (!models.length) usage('no model');

// mulberry32: a small seeded generator, so random inputs are the same from run to run.
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function randomInput(d, seed) {
  const r = random(seed), n = d.shape.reduce((a, b) => a * b, 1);
  const x = {float32: Float32Array, int32: Int32Array, uint8: Uint8Array, int8: Int8Array}[d.type];
  if (!x) throw new Error(`no random input for type ${d.type}`);
  const a = new x(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    a[i] = d.type === 'float32' ? 2 * u - 1 : d.type === 'int32' ? Math.floor(16 * u) : Math.floor(256 * u) - (d.type === 'int8' ? 128 : 0);
  }
  return new Uint8Array(a.buffer);
}

const rt = await openLiteRt();
const failIfErrors = (what) => {
  const errs = rt.errorLines();
  if (errs.length) {
    console.error(`bench.mjs: ${what}: LiteRT reported errors:\n` + errs.join('\n'));
    process.exit(2);
  }
};

for (const b of models) {
  let t0 = performance.now();
  let bytes;
  try {
    bytes = fs.readFileSync(b.model);
  } catch (e) {
    console.error(`bench.mjs: ${e.message}`);
    process.exit(1);
  }
  const m = loadModel(rt, bytes);
  b.loadMs = performance.now() - t0;
  t0 = performance.now();
  b.cm = await compileModel(rt, m);
  b.compileMs = performance.now() - t0;
  failIfErrors(b.model);
  const sig = m.getSignature(0), nIn = sig.inputNames().size();
  if (b.inFiles.length && b.inFiles.length !== nIn) usage(`${b.model} has ${nIn} input(s), got ${b.inFiles.length} --input`);
  b.inputs = [];
  b.inDesc = [];
  for (let i = 0; i < nIn; i++) {
    const tt = m.getInputTensorType(0, i), d = {name: sig.inputNames().get(i), ...describe(tt)};
    let data;
    if (b.inFiles.length) {
      const x = npy.read(b.inFiles[i]);
      if (x.type !== d.type || x.dims.join(',') !== d.shape.join(',')) {
        console.error(`bench.mjs: ${b.model}: input ${i} (${d.name}): ${b.inFiles[i]} is ${x.type}[${x.dims}], the model wants ${d.type}[${d.shape}]`);
        process.exit(1);
      }
      data = new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength);
      d.source = b.inFiles[i];
    } else {
      data = randomInput(d, opt.seed + i);
      d.source = `random(seed ${opt.seed + i})`;
    }
    b.inputs.push(inputBuffer(rt, tt, d, data));
    delete d.bytes;
    b.inDesc.push(d);
  }
  b.times = [];
  b.roundMedians = [];
  b.roundCpu = [];
}

const runOnce = async (b) => {
  const outs = await b.cm.run(0, b.inputs);
  for (const o of outs) o.delete();
};
for (const b of models) {
  for (let i = 0; i < opt.warmup; i++) await runOnce(b);
  failIfErrors(b.model);
  b.runs = opt.runs;
  if (opt['min-round-ms'] > 0) {
    const ts = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await runOnce(b);
      ts.push(performance.now() - t0);
    }
    const est = Math.max(Math.min(...ts), 1e-4);
    b.runs = Math.min(100000, Math.max(opt.runs, Math.ceil(opt['min-round-ms'] / est)));
  }
}

const sorted = (v) => [...v].sort((x, y) => x - y);
const median = (v) => {
  const s = sorted(v), n = s.length;
  return n % 2 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const p90 = (v) => sorted(v)[Math.max(0, Math.ceil(0.9 * v.length) - 1)];

for (let r = 0; r < opt.rounds; r++) {
  for (let j = 0; j < models.length; j++) {
    const b = models[(r + j) % models.length], ts = [];
    const c0 = process.cpuUsage();
    for (let i = 0; i < b.runs; i++) {
      const t0 = performance.now();
      await runOnce(b);
      ts.push(performance.now() - t0);
    }
    const c = process.cpuUsage(c0);
    b.times.push(...ts);
    b.roundMedians.push(median(ts));
    b.roundCpu.push((c.user + c.system) / 1000 / b.runs);
  }
}
failIfErrors('timed runs');

const ms = (x) => +x.toPrecision(5); // five digits: a 20 µs model keeps 1 ns, not 1 µs
console.log(JSON.stringify({runtime: 'litertjs-2.5.3', threads: 1, rounds: opt.rounds, runs: opt.runs, warmup: opt.warmup, seed: opt.seed,
  minRoundMs: opt['min-round-ms'], models: models.map((b) => ({model: b.model, inputs: b.inDesc, runs: b.runs, loadMs: ms(b.loadMs), compileMs: ms(b.compileMs),
    medianMs: ms(median(b.times)), minMs: ms(Math.min(...b.times)), p90Ms: ms(p90(b.times)), roundMedianMs: b.roundMedians.map(ms),
    roundCpuMs: b.roundCpu.map(ms)}))}));
