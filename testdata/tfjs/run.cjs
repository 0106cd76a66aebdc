// Run a .tflite in tfjs-tflite (@tensorflow/tfjs-tflite 0.0.1-alpha.10: TFLite's WASM web API with
// the XNNPACK delegate, an older TFLite than LiteRT.js) under plain Node, one thread.
// Usage: node run.cjs MODEL.tflite [--input x.npy ...] [--output-dir DIR] [--profile]
// Inputs are .npy files of exactly the model's input shapes and types; without --input the inputs
// are zeros (enough to see which nodes XNNPACK takes). Outputs go to DIR/out0.npy, ... One JSON line
// on stdout describes the run; with --profile its "profile" lists, per node the interpreter ran, the
// builtin (or "TfLiteXNNPackDelegate" for a delegated partition) and its output tensor names.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const npy = require('../ort/npy.cjs');

function usage(msg) {
  console.error(`run.cjs: ${msg}\nusage: node run.cjs MODEL.tflite [--input x.npy ...] [--output-dir DIR] [--profile]`);
  process.exit(64);
}
const args = process.argv.slice(2);
let model, outDir, profile = false;
const inFiles = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--input') inFiles.push(args[++i]);
  else if (args[i] === '--output-dir') outDir = args[++i];
  else if (args[i] === '--profile') profile = true;
  else if (!model) model = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (!model) usage('need MODEL.tflite');

// The web API's loader expects a Web Worker: a global self, importScripts for the emscripten glue
// and a MessageChannel to probe for threads. A postMessage that throws makes the probe fail, so
// the non-threaded build loads; the glue gets the .wasm bytes instead of fetching them.
globalThis.self = globalThis;
self.location = {origin: '', href: ''};
globalThis.MessageChannel = class {
  constructor() {
    this.port1 = {postMessage() { throw new Error('run.cjs: no threads'); }};
    this.port2 = {};
  }
};
globalThis.importScripts = (file) => {
  const glue = fs.readFileSync(file, 'utf8');
  const mod = {exports: {}};
  const wrap = vm.runInThisContext('(function(module,exports,require,__filename,__dirname){' + glue +
    '\n;module.exports = tflite_web_api_ModuleFactory;})', {filename: file});
  wrap(mod, mod.exports, require, file, path.dirname(file));
  const wasmBinary = fs.readFileSync(file.replace(/\.js$/, '.wasm'));
  self.tflite_web_api_ModuleFactory = (opts) => mod.exports({...opts, wasmBinary});
};

const tflite = require('@tensorflow/tfjs-tflite');

const typed = {int8: Int8Array, uint8: Uint8Array, int16: Int16Array, int32: Int32Array, float32: Float32Array, bool: Uint8Array};

(async () => {
  tflite.setWasmPath(path.join(path.dirname(require.resolve('@tensorflow/tfjs-tflite/package.json')), 'wasm') + '/');
  const bytes = fs.readFileSync(model);
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const t0 = performance.now();
  const m = await tflite.loadTFLiteModel(buf, {numThreads: 1, enableProfiling: profile});
  const load = performance.now() - t0;
  const runner = m.modelRunner;
  const desc = (t) => ({name: t.name, type: t.dataType, shape: t.shape === '' ? [] : t.shape.split(',').map(Number)});
  const ins = runner.getInputs();
  if (inFiles.length && inFiles.length !== ins.length) usage(`the model has ${ins.length} input(s), got ${inFiles.length} --input`);
  ins.forEach((t, i) => {
    const dst = t.data();
    if (!inFiles.length) {
      dst.fill(0);
      return;
    }
    const x = npy.read(inFiles[i]), d = desc(t);
    if (x.type !== d.type || x.dims.join(',') !== d.shape.join(',')) {
      console.error(`run.cjs: input ${i} (${d.name}): ${inFiles[i]} is ${x.type}[${x.dims}], the model wants ${d.type}[${d.shape}]`);
      process.exit(1);
    }
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength));
  });
  const t1 = performance.now();
  if (!runner.infer()) throw new Error('infer() failed');
  const ms = performance.now() - t1;
  const outs = runner.getOutputs().map((t, i) => {
    const d = desc(t);
    if (outDir) {
      fs.mkdirSync(outDir, {recursive: true});
      const v = t.data(), T = typed[d.type];
      if (!T) throw new Error(`output ${i} (${d.name}): type ${d.type} not supported`);
      npy.write(path.join(outDir, `out${i}.npy`), d.type, d.shape, new T(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)));
    }
    return d;
  });
  const line = {runtime: 'tfjs-tflite 0.0.1-alpha.10', inputs: ins.map(desc), outputs: outs, ms: +ms.toFixed(2), loadMs: +load.toFixed(1)};
  if (profile) line.profile = runner.getProfilingResults().map((p) => ({nodeType: p.nodeType, nodeName: p.nodeName}));
  console.log(JSON.stringify(line));
})().catch((e) => {
  console.error('run.cjs:', e && e.stack || e);
  process.exit(1);
});
