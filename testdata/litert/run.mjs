// Run a .tflite in LiteRT.js (@litertjs/core, WASM + XNNPACK, one thread) under plain Node.
// Usage: node run.mjs MODEL.tflite --input x.npy [--input y.npy ...] --output-dir DIR
// Inputs are .npy files of exactly the model's input shapes and types (4-D inputs are NHWC);
// outputs are written as DIR/out0.npy, DIR/out1.npy, ... One JSON line on stdout describes the run.
// LiteRT reports some problems (unresolved custom ops) only as "ERROR:" log lines and then runs
// anyway: any such line fails the run (exit 2).
import {createRequire} from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import {openLiteRt, loadModel, compileModel, describe, inputBuffer, readBuffer} from './litert.mjs';

const require = createRequire(import.meta.url);
const npy = require('../ort/npy.cjs');

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

const rt = await openLiteRt();
const failIfErrors = () => {
  const errs = rt.errorLines();
  if (errs.length) {
    console.error('run.mjs: LiteRT reported errors:\n' + errs.join('\n'));
    process.exit(2);
  }
};
const m = loadModel(rt, fs.readFileSync(model));
const cm = await compileModel(rt, m);
failIfErrors();

const sig = m.getSignature(0);
const nIn = sig.inputNames().size();
if (inFiles.length !== nIn) usage(`the model has ${nIn} input(s), got ${inFiles.length} --input`);
const inputs = [], inDesc = [];
for (let i = 0; i < nIn; i++) {
  const tt = m.getInputTensorType(0, i), d = {name: sig.inputNames().get(i), ...describe(tt)};
  const x = npy.read(inFiles[i]);
  if (x.type !== d.type || x.dims.join(',') !== d.shape.join(',')) {
    console.error(`run.mjs: input ${i} (${d.name}): ${inFiles[i]} is ${x.type}[${x.dims}], the model wants ${d.type}[${d.shape}]`);
    process.exit(1);
  }
  inputs.push(inputBuffer(rt, tt, d, new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength)));
  inDesc.push(d);
}
const t0 = performance.now();
const outs = await cm.run(0, inputs);
const ms = performance.now() - t0;
failIfErrors();
fs.mkdirSync(outDir, {recursive: true});
const CTOR = {float32: Float32Array, int32: Int32Array, uint8: Uint8Array, int8: Int8Array};
const outDesc = outs.map((tb, i) => {
  const d = {name: sig.outputNames().get(i), ...describe(tb.tensorType())};
  const raw = readBuffer(rt, tb);
  const T = CTOR[d.type];
  fs.writeFileSync(path.join(outDir, `out${i}.npy`), npy.format(d.type, d.shape, new T(raw.buffer, raw.byteOffset, raw.byteLength / T.BYTES_PER_ELEMENT)));
  return d;
});
console.log(JSON.stringify({runtime: 'litertjs-2.5.3', signature: sig.key(), inputs: inDesc, outputs: outDesc, ms: +ms.toFixed(2)}));
