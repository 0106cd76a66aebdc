// Top-1 accuracy of a batch-1 classifier with onnxruntime-node (CPU EP, 1 thread) on a labelled .npy set.
// Usage: node eval_ort.cjs MODEL.onnx IMAGES.npy LABELS.npy [--logits OUT.npy]
// IMAGES is float32 [N, C, H, W]; LABELS is int64 [N]. Samples are fed one at a time as [1, C, H, W].
// Needs onnxruntime-node (make ort-deps; e.g. NODE_PATH=testdata/ort/node_modules).
'use strict';
const path = require('path');
const npy = require(path.join(__dirname, '..', 'ort', 'npy.cjs'));

(async () => {
  const argv = process.argv.slice(2);
  let logitsOut = null;
  const li = argv.indexOf('--logits');
  if (li >= 0) { logitsOut = argv[li + 1]; argv.splice(li, 2); }
  if (argv.length !== 3) { console.error('usage: node eval_ort.cjs MODEL.onnx IMAGES.npy LABELS.npy [--logits OUT.npy]'); process.exit(2); }
  const [model, imgFile, labFile] = argv;
  const ort = require('onnxruntime-node');
  const sess = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
  });
  const x = npy.read(imgFile), y = npy.read(labFile);
  const [n, ...rest] = x.dims, per = rest.reduce((a, b) => a * b, 1);
  if (y.dims[0] !== n) throw new Error(`${n} images, ${y.dims[0]} labels`);
  let correct = 0, classes = 0, all = null;
  for (let i = 0; i < n; i++) {
    const t = new ort.Tensor('float32', x.data.slice(i * per, (i + 1) * per), [1, ...rest]);
    const out = (await sess.run({[sess.inputNames[0]]: t}))[sess.outputNames[0]].data;
    if (!all) { classes = out.length; all = new Float32Array(n * classes); }
    all.set(out, i * classes);
    let best = 0;
    for (let k = 1; k < out.length; k++) if (out[k] > out[best]) best = k;
    if (best === Number(y.data[i])) correct++;
  }
  if (logitsOut) npy.write(logitsOut, 'float32', [n, classes], all);
  console.log(JSON.stringify({runtime: 'onnxruntime-node ' + require('onnxruntime-node/package.json').version,
    model, samples: n, correct, accuracy: correct / n}));
})().catch((e) => { console.error('eval_ort.cjs: ' + String((e && e.message) || e)); process.exit(1); });
