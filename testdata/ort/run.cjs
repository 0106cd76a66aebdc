// Run an ONNX model with onnxruntime-node (CPU EP) on .npy inputs and write .npy outputs.
// Usage: node run.cjs MODEL.onnx --input a.npy [--input b.npy ...] --output-dir DIR [--threads N] [--graph-opt LEVEL]
// LEVEL is onnxruntime's graph optimisation level (default all); comparing all with disabled measures
// how much onnxruntime's own results move with its fusions, the float32 noise floor of a model.
// Inputs are fed in the model's input order (or by name with --input NAME=file.npy).
// Writes DIR/out0.npy, DIR/out1.npy, ... in the model's output order and prints one JSON line.
'use strict';
const fs = require('fs'), path = require('path');
const npy = require('./npy.cjs');

function usage(msg) {
  console.error(`run.cjs: ${msg}\nusage: node run.cjs MODEL.onnx --input a.npy [--input b.npy ...] --output-dir DIR [--threads N] [--graph-opt disabled|basic|extended|all]`);
  process.exit(2);
}

function parseArgs(argv) {
  const a = {inputs: [], threads: 1, outDir: null, model: null};
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = () => (i + 1 < argv.length ? argv[++i] : usage(`${k} needs a value`));
    if (k === '--input' || k === '-i') a.inputs.push(v());
    else if (k === '--output-dir' || k === '-o') a.outDir = v();
    else if (k === '--threads') a.threads = parseInt(v(), 10);
    else if (k === '--graph-opt') a.graphOpt = v();
    else if (k.startsWith('-')) usage(`unknown flag ${k}`);
    else if (a.model === null) a.model = k;
    else usage(`unexpected argument ${k}`);
  }
  if (!a.model) usage('no model');
  if (!a.inputs.length) usage('no --input');
  if (!a.outDir) usage('no --output-dir');
  if (!(a.threads >= 1)) usage('--threads must be >= 1');
  return a;
}

(async () => {
  const a = parseArgs(process.argv.slice(2));
  const ort = require('onnxruntime-node');
  const t0 = performance.now();
  const sess = await ort.InferenceSession.create(a.model, {
    executionProviders: ['cpu'], intraOpNumThreads: a.threads, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: a.graphOpt || 'all',
  });
  const loadMs = performance.now() - t0;
  if (a.inputs.length !== sess.inputNames.length) {
    throw new Error(`model has ${sess.inputNames.length} inputs (${sess.inputNames.join(', ')}), got ${a.inputs.length} --input`);
  }
  const feeds = {};
  a.inputs.forEach((spec, i) => {
    let name = sess.inputNames[i], file = spec;
    const eq = spec.indexOf('=');
    if (eq > 0 && sess.inputNames.includes(spec.slice(0, eq))) { name = spec.slice(0, eq); file = spec.slice(eq + 1); }
    const t = npy.read(file);
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  });
  const t1 = performance.now();
  const out = await sess.run(feeds);
  const runMs = performance.now() - t1;
  fs.mkdirSync(a.outDir, {recursive: true});
  const outputs = sess.outputNames.map((n, i) => {
    const t = out[n], file = path.join(a.outDir, `out${i}.npy`);
    npy.write(file, t.type, t.dims, t.data);
    return {name: n, type: t.type, dims: t.dims, file};
  });
  console.log(JSON.stringify({
    runtime: 'onnxruntime-node ' + require('onnxruntime-node/package.json').version,
    model: a.model, threads: a.threads, inputs: sess.inputNames, outputs,
    loadMs: +loadMs.toFixed(1), runMs: +runMs.toFixed(2),
  }));
})().catch((e) => { console.error('run.cjs: ' + String((e && e.message) || e).split('\n')[0]); process.exit(1); });
