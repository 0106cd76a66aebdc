// Run a .tflite in LiteRT.js (@litertjs/core, WASM + XNNPACK, one thread) under plain Node.
// Usage: node run.mjs MODEL.tflite --input x.npy [--input y.npy ...] --output-dir DIR
// Inputs are .npy files of exactly the model's input shapes and types (4-D inputs are NHWC);
// outputs are written as DIR/out0.npy, DIR/out1.npy, ... One JSON line on stdout describes the run.
// LiteRT reports some problems (unresolved custom ops) only as "ERROR:" log lines and then runs
// anyway: any such line fails the run (exit 2).
import {createRequire} from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

const require = createRequire(import.meta.url);
const npy = require('../ort/npy.cjs');

// Shims: the WASM glue expects a worker (self, importScripts) and is CommonJS inside an ES package.
globalThis.self = globalThis;
globalThis.importScripts = (file) => {
  const m = {exports: {}};
  vm.runInThisContext('(function(module,exports,require,__filename,__dirname){' + fs.readFileSync(file, 'utf8') + '\n})',
    {filename: file})(m, m.exports, require, file, path.dirname(file));
  globalThis.ModuleFactory = m.exports;
};

function usage(msg) {
  console.error(`run.mjs: ${msg}\nusage: node run.mjs MODEL.tflite --input x.npy [--input ...] --output-dir DIR`);
  process.exit(64);
}
const args = process.argv.slice(2);
let model, outDir;
const inFiles = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--input') inFiles.push(args[++i]);
  else if (args[i] === '--output-dir') outDir = args[++i];
  else if (!model) model = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (!model || !outDir) usage('need MODEL.tflite and --output-dir');

const log = [];
globalThis.Module = {print: (s) => log.push(s), printErr: (s) => log.push(s)};
const failIfErrors = () => {
  const errs = log.filter((l) => /ERROR/.test(l));
  if (errs.length) {
    console.error('run.mjs: LiteRT reported errors:\n' + errs.join('\n'));
    process.exit(2);
  }
};

const {loadLiteRt} = await import('@litertjs/core');
const warn = console.warn;
console.warn = () => {}; // "navigator is not defined" from the WebGPU probe
const lrt = await loadLiteRt(path.dirname(require.resolve('@litertjs/core/package.json')) + '/wasm/');
console.warn = warn;
const w = lrt.liteRtWasm, env = lrt.getDefaultEnvironment().liteRtEnvironment;
const bytes = fs.readFileSync(model);
const p = w._malloc(bytes.length);
w.HEAPU8.set(bytes, p);
const m = w.loadModel(env, p, bytes.length);
const cm = await w.compileModel(env, m, {environment: lrt.getDefaultEnvironment(), accelerator: 'wasm',
  cpuOptions: {numThreads: 1}, gpuOptions: {}, webNNOptions: {}});
failIfErrors();

const TYPES = {1: 'float32', 2: 'int32', 3: 'uint8', 9: 'int8'};
const desc = (tt) => {
  const d = tt.layout().dimensions(), shape = [];
  for (let i = 0; i < d.size(); i++) shape.push(d.get(i));
  return {type: TYPES[tt.elementType().value], shape, bytes: tt.bytes()};
};
const sig = m.getSignature(0);
const nIn = sig.inputNames().size();
if (inFiles.length !== nIn) usage(`the model has ${nIn} input(s), got ${inFiles.length} --input`);
const inputs = [], inDesc = [];
for (let i = 0; i < nIn; i++) {
  const tt = m.getInputTensorType(0, i), d = {name: sig.inputNames().get(i), ...desc(tt)};
  const x = npy.read(inFiles[i]);
  if (x.type !== d.type || x.dims.join(',') !== d.shape.join(',')) {
    console.error(`run.mjs: input ${i} (${d.name}): ${inFiles[i]} is ${x.type}[${x.dims}], the model wants ${d.type}[${d.shape}]`);
    process.exit(1);
  }
  const tb = w.LiteRtTensorBuffer.createManaged(env, w.LiteRtTensorBufferType.HOST_MEMORY, tt, d.bytes);
  const q = tb.lock(w.LiteRtTensorBufferLockMode.WRITE);
  w.HEAPU8.set(new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength), q);
  tb.unlock();
  inputs.push(tb);
  inDesc.push(d);
}
const t0 = performance.now();
const outs = await cm.run(0, inputs);
const ms = performance.now() - t0;
failIfErrors();
fs.mkdirSync(outDir, {recursive: true});
const CTOR = {float32: Float32Array, int32: Int32Array, uint8: Uint8Array, int8: Int8Array};
const outDesc = outs.map((tb, i) => {
  const d = {name: sig.outputNames().get(i), ...desc(tb.tensorType())};
  const q = tb.lock(w.LiteRtTensorBufferLockMode.READ);
  const raw = w.HEAPU8.slice(q, q + tb.packedSize());
  tb.unlock();
  const T = CTOR[d.type];
  fs.writeFileSync(path.join(outDir, `out${i}.npy`), npy.format(d.type, d.shape, new T(raw.buffer, raw.byteOffset, raw.byteLength / T.BYTES_PER_ELEMENT)));
  return d;
});
console.log(JSON.stringify({runtime: 'litertjs-2.5.3', signature: sig.key(), inputs: inDesc, outputs: outDesc, ms: +ms.toFixed(2)}));
