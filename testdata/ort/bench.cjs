// Time an ONNX model with onnxruntime-node (CPU EP, 1 intra-op thread).
// Usage: node bench.cjs MODEL.onnx --input x.npy [--input y.npy ...] [--runs N] [--warmup W]
// Prints one JSON line: {model, loadMs, runMsMedian, runMsMin, runs}.
'use strict';
const npy = require('./npy.cjs');

function usage(msg) {
  console.error(`bench.cjs: ${msg}\nusage: node bench.cjs MODEL.onnx --input x.npy [--runs N] [--warmup W]`);
  process.exit(2);
}

(async () => {
  const argv = process.argv.slice(2), inputs = [];
  let model = null, runs = 20, warmup = 3;
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = () => (i + 1 < argv.length ? argv[++i] : usage(`${k} needs a value`));
    if (k === '--input' || k === '-i') inputs.push(v());
    else if (k === '--runs') runs = parseInt(v(), 10);
    else if (k === '--warmup') warmup = parseInt(v(), 10);
    else if (k.startsWith('-')) usage(`unknown flag ${k}`);
    else if (model === null) model = k;
    else usage(`unexpected argument ${k}`);
  }
  if (!model) usage('no model');
  if (!inputs.length) usage('no --input');
  if (!(runs >= 1) || !(warmup >= 0)) usage('bad --runs/--warmup');
  const ort = require('onnxruntime-node');
  const t0 = performance.now();
  const sess = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
  });
  const loadMs = performance.now() - t0;
  if (inputs.length !== sess.inputNames.length) throw new Error(`model has ${sess.inputNames.length} inputs, got ${inputs.length}`);
  const feeds = {};
  inputs.forEach((f, i) => { const t = npy.read(f); feeds[sess.inputNames[i]] = new ort.Tensor(t.type, t.data, t.dims); });
  for (let i = 0; i < Math.max(1, warmup); i++) await sess.run(feeds);
  const ts = [];
  for (let i = 0; i < runs; i++) { const a = performance.now(); await sess.run(feeds); ts.push(performance.now() - a); }
  ts.sort((x, y) => x - y);
  const med = ts.length % 2 ? ts[ts.length >> 1] : (ts[ts.length / 2 - 1] + ts[ts.length / 2]) / 2;
  console.log(JSON.stringify({model, threads: 1, runs, loadMs: +loadMs.toFixed(1), runMsMedian: +med.toFixed(2), runMsMin: +ts[0].toFixed(2)}));
})().catch((e) => { console.error('bench.cjs: ' + String((e && e.message) || e).split('\n')[0]); process.exit(1); });
