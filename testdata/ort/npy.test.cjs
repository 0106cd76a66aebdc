// node --test testdata/ort/  — checks npy.cjs against files written by numpy (embedded below).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const npy = require('./npy.cjs');

const b = (s) => Buffer.from(s, 'base64');
// np.save of: int64 [-(2**62), -1, 0, 5]; bool [True, False, True]; float32 scalar 3.5.
const NUMPY = {
  i8: b('k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAwP//////////AAAAAAAAAAAFAAAAAAAAAA=='),
  b1: b('k05VTVBZAQB2AHsnZGVzY3InOiAnfGIxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAE='),
  scalar: b('k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAGBA'),
  // np.lib.format.write_array(version=(2, 0)) of float32 [[1.5, -2]]
  v2: b('k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMSwgMiksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwA=='),
  // np.asfortranarray(np.zeros((2, 3), '<f4'))
  fortran: b('k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA='),
};

test('reads numpy files and writes them back byte for byte', () => {
  const i8 = npy.parse(NUMPY.i8);
  assert.deepStrictEqual([i8.type, i8.dims, Array.from(i8.data)], ['int64', [4], [-(2n ** 62n), -1n, 0n, 5n]]);
  const b1 = npy.parse(NUMPY.b1);
  assert.deepStrictEqual([b1.type, b1.dims, Array.from(b1.data)], ['bool', [3], [1, 0, 1]]);
  const sc = npy.parse(NUMPY.scalar);
  assert.deepStrictEqual([sc.type, sc.dims, Array.from(sc.data)], ['float32', [], [3.5]]);
  for (const k of ['i8', 'b1', 'scalar']) {
    const t = npy.parse(NUMPY[k]);
    assert.ok(npy.format(t.type, t.dims, t.data).equals(NUMPY[k]), k);
  }
});

test('reads format 2.0', () => {
  const t = npy.parse(NUMPY.v2);
  assert.deepStrictEqual([t.type, t.dims, Array.from(t.data)], ['float32', [1, 2], [1.5, -2]]);
});

test('rejects fortran order, truncated data and bad magic', () => {
  assert.throws(() => npy.parse(NUMPY.fortran), /fortran_order/);
  assert.throws(() => npy.parse(NUMPY.i8.subarray(0, NUMPY.i8.length - 1)), /data bytes/);
  assert.throws(() => npy.parse(Buffer.from('not a numpy file')), /magic/);
});

test('round-trips every supported type; header is 64-byte aligned v1.0', () => {
  const cases = [
    ['float32', Float32Array.of(1, -2.5, 3e-8, Infinity), [2, 2]],
    ['int64', BigInt64Array.of(1n, -(2n ** 63n)), [2]],
    ['int32', Int32Array.of(-1, 2, 3), [3, 1]],
    ['uint8', Uint8Array.of(0, 255), [1, 2]],
    ['int8', Int8Array.of(-128, 127), [2]],
    ['bool', Uint8Array.of(1, 0, 1), [3]],
    ['float32', new Float32Array(0), [0, 4]],
  ];
  for (const [type, data, dims] of cases) {
    const buf = npy.format(type, dims, data);
    assert.strictEqual(buf[6], 1);
    assert.strictEqual((10 + buf.readUInt16LE(8)) % 64, 0);
    const t = npy.parse(buf);
    assert.deepStrictEqual([t.type, t.dims, Array.from(t.data)], [type, dims, Array.from(data)]);
  }
});
