// Minimal .npy (format 1.0 / 2.0 / 3.0) reader and writer (v1.0 when it fits).
// Supports little-endian '<f4', '<f8', '<i8', '<i4', '<u4', '<i2', '<u2', '|u1', '|i1', '|b1', C order only.
'use strict';
const fs = require('fs');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

// descr -> [onnxruntime type, TypedArray constructor]
const DTYPES = {
  '<f4': ['float32', Float32Array],
  '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array],
  '<u8': ['uint64', BigUint64Array],
  '<i4': ['int32', Int32Array],
  '<u4': ['uint32', Uint32Array],
  '<i2': ['int16', Int16Array],
  '<u2': ['uint16', Uint16Array],
  '|u1': ['uint8', Uint8Array],
  '|i1': ['int8', Int8Array],
  '|b1': ['bool', Uint8Array],
};
const BY_TYPE = Object.fromEntries(Object.entries(DTYPES).map(([d, [t]]) => [t, d]));
// numpy also writes these equivalent spellings
const ALIASES = {'<u1': '|u1', '<i1': '|i1', '<b1': '|b1', 'u1': '|u1', 'i1': '|i1', 'b1': '|b1', '|f4': '<f4'};

// parseHeader parses the Python dict literal of a .npy header,
// e.g. "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), }".
function parseHeader(s) {
  const str = (key) => {
    const m = s.match(new RegExp(`['"]${key}['"]\\s*:\\s*['"]([^'"]*)['"]`));
    if (!m) throw new Error(`npy: header has no ${key}: ${s}`);
    return m[1];
  };
  const fo = s.match(/['"]fortran_order['"]\s*:\s*(True|False)/);
  if (!fo) throw new Error(`npy: header has no fortran_order: ${s}`);
  const sh = s.match(/['"]shape['"]\s*:\s*\(([^)]*)\)/);
  if (!sh) throw new Error(`npy: header has no shape: ${s}`);
  const shape = sh[1].split(',').map((x) => x.trim()).filter((x) => x !== '').map((x) => {
    if (!/^\d+L?$/.test(x)) throw new Error(`npy: bad shape entry ${x}`);
    return parseInt(x, 10);
  });
  return {descr: str('descr'), fortranOrder: fo[1] === 'True', shape};
}

// parse decodes a .npy buffer into {type, dims, data} (data is a fresh, aligned TypedArray).
function parse(buf) {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new Error('npy: bad magic');
  const major = buf[6];
  let hlen, hstart;
  if (major === 1) { hlen = buf.readUInt16LE(8); hstart = 10; }
  else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); hstart = 12; }
  else throw new Error(`npy: unsupported version ${major}.${buf[7]}`);
  const h = parseHeader(buf.subarray(hstart, hstart + hlen).toString(major === 3 ? 'utf8' : 'latin1'));
  if (h.fortranOrder) throw new Error('npy: fortran_order arrays are not supported');
  const descr = ALIASES[h.descr] || h.descr;
  const dt = DTYPES[descr];
  if (!dt) throw new Error(`npy: unsupported dtype ${h.descr}`);
  const [type, T] = dt;
  const count = h.shape.reduce((a, b) => a * b, 1);
  const off = hstart + hlen, nbytes = count * T.BYTES_PER_ELEMENT;
  if (buf.length - off !== nbytes) throw new Error(`npy: ${buf.length - off} data bytes, want ${nbytes}`);
  const ab = new ArrayBuffer(nbytes);
  new Uint8Array(ab).set(buf.subarray(off, off + nbytes));
  return {type, descr, dims: h.shape, data: new T(ab)};
}

function read(file) { return parse(fs.readFileSync(file)); }

// format encodes a TypedArray of the given onnxruntime type and dims as .npy (v1.0 if the header fits).
function format(type, dims, data) {
  const descr = BY_TYPE[type];
  if (!descr) throw new Error(`npy: cannot write type ${type}`);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  let major = 1, pre = 10;
  if (dict.length + 1 + pre > 0xffff) { major = 2; pre = 12; }
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64; // numpy pads to 64 bytes
  dict = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const head = Buffer.alloc(pre);
  MAGIC.copy(head, 0); head[6] = major; head[7] = 0;
  if (major === 1) head.writeUInt16LE(dict.length, 8); else head.writeUInt32LE(dict.length, 8);
  let bytes;
  if (type === 'bool') bytes = Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)));
  else bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // TypedArrays are host-endian; every supported host (x64, arm64) is little-endian.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('npy: big-endian host');
  return Buffer.concat([head, Buffer.from(dict, 'latin1'), bytes]);
}

function write(file, type, dims, data) { fs.writeFileSync(file, format(type, dims, data)); }

module.exports = {parse, read, format, write, parseHeader, DTYPES};
