// LiteRT.js (@litertjs/core, WASM + XNNPACK) under plain Node: the loading shims and the low-level
// calls run.mjs (outputs) and bench.mjs (latency) share. The high-level Tensor class has no int8,
// so both use the liteRtWasm buffers directly.
import {createRequire} from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

const require = createRequire(import.meta.url);

// TYPES maps LiteRT element types to .npy / TypedArray type names.
export const TYPES = {1: 'float32', 2: 'int32', 3: 'uint8', 9: 'int8'};

// openLiteRt loads the runtime. The WASM glue expects a worker (self, importScripts) and is CommonJS
// inside an ES package; its log lines are kept, since LiteRT reports some problems (unresolved custom
// ops) only as "ERROR:" lines and runs anyway: errorLines() returns them.
export async function openLiteRt() {
  globalThis.self = globalThis;
  globalThis.importScripts = (file) => {
    const m = {exports: {}};
    vm.runInThisContext('(function(module,exports,require,__filename,__dirname){' + fs.readFileSync(file, 'utf8') + '\n})',
      {filename: file})(m, m.exports, require, file, path.dirname(file));
    globalThis.ModuleFactory = m.exports;
  };
  const log = [];
  globalThis.Module = {print: (s) => log.push(s), printErr: (s) => log.push(s)};
  const {loadLiteRt} = await import('@litertjs/core');
  const warn = console.warn;
  console.warn = () => {}; // "navigator is not defined" from the WebGPU probe
  const lrt = await loadLiteRt(path.dirname(require.resolve('@litertjs/core/package.json')) + '/wasm/');
  console.warn = warn;
  return {lrt, w: lrt.liteRtWasm, env: lrt.getDefaultEnvironment().liteRtEnvironment,
    errorLines: () => log.filter((l) => /ERROR/.test(l))};
}

// loadModel copies a .tflite's bytes into the WASM heap (where they stay: the model aliases them).
export function loadModel(rt, bytes) {
  const p = rt.w._malloc(bytes.length);
  rt.w.HEAPU8.set(bytes, p);
  return rt.w.loadModel(rt.env, p, bytes.length);
}

// compileModel compiles for the CPU: wasm accelerator (XNNPACK), one thread.
export function compileModel(rt, m) {
  return rt.w.compileModel(rt.env, m, {environment: rt.lrt.getDefaultEnvironment(), accelerator: 'wasm',
    cpuOptions: {numThreads: 1}, gpuOptions: {}, webNNOptions: {}});
}

// describe returns a tensor type's element type, shape and size in bytes.
export function describe(tt) {
  const d = tt.layout().dimensions(), shape = [];
  for (let i = 0; i < d.size(); i++) shape.push(d.get(i));
  return {type: TYPES[tt.elementType().value], shape, bytes: tt.bytes()};
}

// inputBuffer makes a host buffer of tensor type tt holding data (a Uint8Array of d.bytes bytes).
export function inputBuffer(rt, tt, d, data) {
  const {w} = rt;
  const tb = w.LiteRtTensorBuffer.createManaged(rt.env, w.LiteRtTensorBufferType.HOST_MEMORY, tt, d.bytes);
  const q = tb.lock(w.LiteRtTensorBufferLockMode.WRITE);
  w.HEAPU8.set(data, q);
  tb.unlock();
  return tb;
}

// readBuffer copies a tensor buffer's packed bytes out of the WASM heap.
export function readBuffer(rt, tb) {
  const {w} = rt;
  const q = tb.lock(w.LiteRtTensorBufferLockMode.READ);
  const raw = w.HEAPU8.slice(q, q + tb.packedSize());
  tb.unlock();
  return raw;
}
