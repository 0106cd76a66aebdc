// Top-1 accuracy of a float-I/O classifier .tflite in LiteRT.js (@litertjs/core, WASM + XNNPACK, one
// thread) on a labelled set. Usage: node eval.mjs MODEL.tflite IMAGES.npy LABELS.npy
// IMAGES is float32 [N, ...] whose per-sample element order is the model input's (for a 4-D NCHW
// image with one channel, NCHW and NHWC agree); LABELS int64 [N]. One JSON line on stdout.
// Any "ERROR:" line LiteRT logs fails the run (exit 2).
import {createRequire} from 'node:module';
import fs from 'node:fs';
import {openLiteRt, loadModel, compileModel, describe, inputBuffer, readBuffer} from './litert.mjs';

const require = createRequire(import.meta.url);
const npy = require('../ort/npy.cjs');
const args = process.argv.slice(2);
if (args.length !== 3) {
  console.error('usage: node eval.mjs MODEL.tflite IMAGES.npy LABELS.npy');
  process.exit(64);
}
const [model, imgFile, labFile] = args;
const rt = await openLiteRt();
const failIfErrors = () => {
  const errs = rt.errorLines();
  if (errs.length) {
    console.error('eval.mjs: LiteRT reported errors:\n' + errs.join('\n'));
    process.exit(2);
  }
};
const m = loadModel(rt, fs.readFileSync(model));
const cm = await compileModel(rt, m);
failIfErrors();
const tt = m.getInputTensorType(0, 0), d = describe(tt);
if (d.type !== 'float32') {
  console.error(`eval.mjs: the input is ${d.type}; convert with --io float32`);
  process.exit(1);
}
const x = npy.read(imgFile), y = npy.read(labFile);
const n = x.dims[0], per = x.data.length / n;
if (per !== d.bytes / 4) {
  console.error(`eval.mjs: a sample has ${per} values, the model input ${d.shape} ${d.bytes / 4}`);
  process.exit(1);
}
let correct = 0;
for (let i = 0; i < n; i++) {
  const s = x.data.subarray(i * per, (i + 1) * per);
  const inp = inputBuffer(rt, tt, d, new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
  const outs = await cm.run(0, [inp]);
  const raw = readBuffer(rt, outs[0]);
  const o = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  let best = 0;
  for (let k = 1; k < o.length; k++) if (o[k] > o[best]) best = k;
  if (best === Number(y.data[i])) correct++;
  for (const b of outs) b.delete?.();
  inp.delete?.();
}
failIfErrors();
console.log(JSON.stringify({runtime: 'litertjs-2.5.3', model, samples: n, correct, accuracy: correct / n}));
