#!/usr/bin/python3
"""Convert an int8 TFLite CNN into a float32 ONNX model with its dequantized weights.

Usage: tflite_to_onnx.py MODEL.tflite OUT.onnx [--keep-pad]

The result computes in float32 what the int8 file computes in integers: every int8 weight
becomes scale·(q − zero_point) (per channel where the file says so), every int32 bias
becomes q·input_scale·weight_scale[c]. Activations are not quantized: the ONNX model is the
float network the int8 file approximates, to int8 weight precision. It is a measuring tool
(a CNN with trained weights as float ONNX), not a general converter.

Layout: the ONNX model is NCHW (opset 13). A TRANSPOSE(0,2,3,1) applied to the graph's
NCHW input (as the official converter emits for PyTorch models) is dropped; an NHWC graph
input becomes an NCHW ONNX input. Rank-4 activations are NCHW throughout.

A PAD read only by convolutions is folded into their pads (an int8 PAD fills with the zero
point, i.e. 0.0, as convolution padding does; PyTorch models had it that way before the
TFLite converter split it out); --keep-pad emits ONNX Pad nodes instead.

Ops: TRANSPOSE (input only), PAD, CONV_2D, DEPTHWISE_CONV_2D (SAME/VALID → explicit pads,
fused RELU/RELU6/RELU_N1_TO_1 → Relu/Clip), ADD, MEAN over H,W, RESHAPE, FULLY_CONNECTED,
AVERAGE_POOL_2D, MAX_POOL_2D, SOFTMAX, and QUANTIZE/DEQUANTIZE (identities in float). Any
other op, or a layout this tool does not handle, is an error naming the op.

The ONNX model's metadata_props record the file's input and output quantization
(tflite_input_scale, tflite_input_zero_point, tflite_output_scale, tflite_output_zero_point)
so that a harness can quantize the same float input for the int8 file.

The flatbuffer is read with a small reader written for this script (field slots of the
published TFLite schema, as in lower/tflite/schema.fbs); nothing is generated or fetched.
Run with /usr/bin/python3 (Debian's python3-onnx and numpy).
"""
import argparse
import json
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class ConvertError(Exception):
    pass


# ---------------------------------------------------------------- flatbuffer reader

class Table:
    """A flatbuffer table: fields by slot number (the schema's field order; unions take 2)."""

    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos
        vt = pos - struct.unpack_from('<i', buf, pos)[0]
        self.vt_len = struct.unpack_from('<H', buf, vt)[0]
        self.vt = vt

    def _off(self, slot):
        o = 4 + 2 * slot
        if o >= self.vt_len:
            return 0
        return struct.unpack_from('<H', self.buf, self.vt + o)[0]

    def scalar(self, slot, fmt, default=0):
        o = self._off(slot)
        return default if o == 0 else struct.unpack_from('<' + fmt, self.buf, self.pos + o)[0]

    def _indirect(self, slot):
        o = self._off(slot)
        if o == 0:
            return None
        p = self.pos + o
        return p + struct.unpack_from('<I', self.buf, p)[0]

    def table(self, slot):
        p = self._indirect(slot)
        return None if p is None else Table(self.buf, p)

    def string(self, slot):
        p = self._indirect(slot)
        if p is None:
            return None
        n = struct.unpack_from('<I', self.buf, p)[0]
        return bytes(self.buf[p + 4:p + 4 + n]).decode('utf-8', 'replace')

    def vector(self, slot, fmt):
        """A vector of scalars as a list (fmt a struct code), [] when absent."""
        p = self._indirect(slot)
        if p is None:
            return []
        n = struct.unpack_from('<I', self.buf, p)[0]
        return list(struct.unpack_from('<%d%s' % (n, fmt), self.buf, p + 4))

    def bytes_vector(self, slot):
        p = self._indirect(slot)
        if p is None:
            return b''
        n = struct.unpack_from('<I', self.buf, p)[0]
        return bytes(self.buf[p + 4:p + 4 + n])

    def tables(self, slot):
        p = self._indirect(slot)
        if p is None:
            return []
        n = struct.unpack_from('<I', self.buf, p)[0]
        out = []
        for i in range(n):
            e = p + 4 + 4 * i
            out.append(Table(self.buf, e + struct.unpack_from('<I', self.buf, e)[0]))
        return out


# Builtin operator codes (published schema values).
OPS = {0: 'ADD', 1: 'AVERAGE_POOL_2D', 3: 'CONV_2D', 4: 'DEPTHWISE_CONV_2D', 6: 'DEQUANTIZE',
       9: 'FULLY_CONNECTED', 17: 'MAX_POOL_2D', 22: 'RESHAPE', 25: 'SOFTMAX', 34: 'PAD',
       39: 'TRANSPOSE', 40: 'MEAN', 114: 'QUANTIZE'}
# Names of some other builtin operators, for error messages only.
OTHER_OPS = {2: 'CONCATENATION', 14: 'LOGISTIC', 18: 'MUL', 19: 'RELU', 20: 'RELU_N1_TO_1', 21: 'RELU6',
             23: 'RESIZE_BILINEAR', 28: 'TANH', 41: 'SUB', 42: 'DIV', 43: 'SQUEEZE', 55: 'MAXIMUM',
             57: 'MINIMUM', 60: 'PADV2', 97: 'RESIZE_NEAREST_NEIGHBOR', 98: 'LEAKY_RELU', 117: 'HARD_SWISH'}
TYPES = {0: 'float32', 2: 'int32', 3: 'uint8', 4: 'int64', 7: 'int16', 9: 'int8'}
NP = {'float32': np.float32, 'int32': np.int32, 'uint8': np.uint8, 'int64': np.int64,
      'int16': np.int16, 'int8': np.int8}
ACT = {0: None, 1: 'RELU', 2: 'RELU_N1_TO_1', 3: 'RELU6'}


def read_model(data):
    buf = memoryview(data)
    if bytes(buf[4:8]) != b'TFL3':
        raise ConvertError('not a TFLite file (no TFL3 identifier)')
    model = Table(buf, struct.unpack_from('<I', buf, 0)[0])
    opcodes = []
    for oc in model.tables(1):
        code = max(oc.scalar(0, 'b'), oc.scalar(3, 'i'))
        opcodes.append((code, oc.string(1), oc.scalar(2, 'i', 1)))
    buffers = []
    for b in model.tables(4):
        if b.scalar(1, 'Q') or b.scalar(2, 'Q'):
            raise ConvertError('buffers stored outside the flatbuffer (offset/size) are not supported')
        buffers.append(b.bytes_vector(0))
    subgraphs = model.tables(2)
    if len(subgraphs) != 1:
        raise ConvertError(f'{len(subgraphs)} subgraphs; only one is supported')
    sg = subgraphs[0]
    tensors = []
    for t in sg.tables(0):
        q = t.table(4)
        quant = None
        if q is not None and q.vector(2, 'f'):
            quant = {'scale': np.array(q.vector(2, 'f'), np.float64),
                     'zero_point': np.array(q.vector(3, 'q') or [0], np.int64),
                     'axis': q.scalar(6, 'i')}
        ttype = t.scalar(1, 'b')
        if ttype not in TYPES:
            raise ConvertError(f'tensor {t.string(3)!r}: unsupported type {ttype}')
        tensors.append({'shape': t.vector(0, 'i'), 'type': TYPES[ttype], 'buffer': t.scalar(2, 'I'),
                        'name': t.string(3) or '', 'quant': quant})
    ops = []
    for o in sg.tables(3):
        code, custom, version = opcodes[o.scalar(0, 'I')]
        name = OPS.get(code) or OTHER_OPS.get(code) or (f'custom {custom!r}' if custom else f'builtin {code}')
        ops.append({'op': name, 'version': version, 'inputs': o.vector(1, 'i'),
                    'outputs': o.vector(2, 'i'), 'options_type': o.scalar(3, 'B'), 'options': o.table(4)})
    return {'tensors': tensors, 'inputs': sg.vector(1, 'i'), 'outputs': sg.vector(2, 'i'),
            'ops': ops, 'buffers': buffers}


# ---------------------------------------------------------------- conversion

def const_value(m, i):
    """The raw constant of tensor i as a numpy array of its type and shape, or None."""
    t = m['tensors'][i]
    raw = m['buffers'][t['buffer']] if t['buffer'] < len(m['buffers']) else b''
    if not raw:
        return None
    return np.frombuffer(raw, NP[t['type']]).reshape(t['shape']).copy()


def dequantize(m, i):
    """Tensor i as float32: dequantized with its scale and zero point along its axis."""
    t, q = m['tensors'][i], m['tensors'][i]['quant']
    v = const_value(m, i)
    if v is None:
        raise ConvertError(f'tensor {t["name"]!r} should be a constant')
    if t['type'] == 'float32':
        return v
    if q is None:
        raise ConvertError(f'constant {t["name"]!r} ({t["type"]}) has no quantization')
    s, z = q['scale'], q['zero_point']
    if len(s) > 1:
        shape = [1] * v.ndim
        shape[q['axis']] = len(s)
        s, z = s.reshape(shape), (z.reshape(shape) if len(z) > 1 else z[0])
    else:
        s, z = s[0], z[0]
    return ((v.astype(np.float64) - z) * s).astype(np.float32)


def bias_value(m, bias_i, in_i, w_i, warnings):
    """An int32 bias as float: q·input_scale·weight_scale[c] (checked against its own scale)."""
    b = m['tensors'][bias_i]
    v = const_value(m, bias_i)
    if b['type'] == 'float32':
        return v
    if b['type'] != 'int32':
        raise ConvertError(f'bias {b["name"]!r}: type {b["type"]}, want int32')
    s_in = m['tensors'][in_i]['quant']['scale'][0]
    s_w = m['tensors'][w_i]['quant']['scale']
    scale = s_in * s_w
    if b['quant'] is not None:
        own = b['quant']['scale']
        if own.shape == scale.shape or len(own) == 1:
            rel = np.max(np.abs(own - scale) / np.maximum(np.abs(scale), 1e-30))
            if rel > 1e-5:
                warnings.append(f'bias {b["name"]!r}: stored scale differs from in·w by {rel:.2g} (relative)')
    return (v.astype(np.float64) * scale).astype(np.float32)


def fused(code, where):
    if code not in ACT:
        raise ConvertError(f'{where}: fused activation {code} is not supported')
    return ACT[code]


def same_pads(in_size, k, s, d):
    out = -(-in_size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - in_size, 0)
    return total // 2, total - total // 2


def convert(m, fold_pad=True):
    nodes, inits, warnings = [], [], []
    folded_pad = {}  # PAD outputs folded into the convolutions that read them
    T = m['tensors']
    onnx_name = {}   # tflite tensor index -> ONNX value name
    nchw = set()     # tflite tensor indices whose ONNX value is the NCHW form of an NHWC tensor
    counter = [0]

    def fresh(base):
        counter[0] += 1
        return f'{base}_{counter[0]}'

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def value(i):
        if i in onnx_name:
            return onnx_name[i]
        t = T[i]
        v = const_value(m, i)
        if v is None:
            raise ConvertError(f'tensor {i} {t["name"]!r} is read before it is written')
        arr = dequantize(m, i) if t['type'] in ('int8', 'uint8') else v.astype(np.float32)
        if arr.ndim == 4:
            arr = arr.transpose(0, 3, 1, 2)
        onnx_name[i] = init(f't{i}', arr)
        if arr.ndim == 4:
            nchw.add(i)
        return onnx_name[i]

    def activation(x, act, y):
        """x through the fused activation act, into the value named y (x itself when act is None)."""
        if act is None:
            return x
        if act == 'RELU':
            nodes.append(helper.make_node('Relu', [x], [y]))
        else:
            lo, hi = (0.0, 6.0) if act == 'RELU6' else (-1.0, 1.0)
            nodes.append(helper.make_node('Clip', [x, init(fresh('lo'), np.array(lo, np.float32)),
                                                   init(fresh('hi'), np.array(hi, np.float32))], [y]))
        return y

    def out_name(i):
        return f't{i}'

    def as_nhwc_flat(i):
        """The ONNX value of tensor i in TFLite's element order (NHWC for rank 4)."""
        x = value(i)
        if i in nchw:
            n, h, w, c = T[i]['shape']
            if h * w != 1 and c != 1:
                y = fresh('to_nhwc')
                nodes.append(helper.make_node('Transpose', [x], [y], perm=[0, 2, 3, 1]))
                return y
            # With H·W = 1 or C = 1 the NCHW and NHWC element orders are the same: the
            # consumer's Reshape gives the shape.
        return x

    # Graph inputs: NCHW in ONNX.
    graph_inputs = []
    for i in m['inputs']:
        t = T[i]
        if t['type'] not in ('int8', 'uint8', 'float32'):
            raise ConvertError(f'input {t["name"]!r}: type {t["type"]}')
        name = safe(t['name']) or f'input{i}'
        shape = list(t['shape'])
        onnx_name[i] = name
        consumers = [op for op in m['ops'] if i in op['inputs']]
        dropped = (len(consumers) == 1 and consumers[0]['op'] == 'TRANSPOSE' and len(shape) == 4 and
                   list(const_value(m, consumers[0]['inputs'][1])) == [0, 2, 3, 1])
        if len(shape) == 4 and not dropped:
            nchw.add(i)
            shape = [shape[0], shape[3], shape[1], shape[2]]
        graph_inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))

    op_counts = {}
    for k, op in enumerate(m['ops']):
        kind, ins, outs, opt = op['op'], op['inputs'], op['outputs'], op['options']
        op_counts[kind] = op_counts.get(kind, 0) + 1
        where = f'operator {k} ({kind})'
        o = outs[0]
        oshape = T[o]['shape']
        if kind == 'TRANSPOSE':
            perm = list(const_value(m, ins[1]))
            if ins[0] in m['inputs'] and perm == [0, 2, 3, 1] and ins[0] not in nchw:
                onnx_name[o] = onnx_name[ins[0]]  # the ONNX input is already NCHW
                nchw.add(o)
                continue
            raise ConvertError(f'{where}: only a TRANSPOSE(0,2,3,1) of an NCHW graph input is supported, got perm {perm}')
        if kind in ('QUANTIZE', 'DEQUANTIZE'):
            onnx_name[o] = value(ins[0])
            if ins[0] in nchw:
                nchw.add(o)
            continue
        if kind == 'PAD':
            if ins[0] not in nchw:
                raise ConvertError(f'{where}: input is not a rank-4 activation')
            p = const_value(m, ins[1]).reshape(4, 2)[[0, 3, 1, 2]]  # NHWC rows → NCHW
            readers = [r for r in m['ops'] if o in r['inputs']]
            if (fold_pad and readers and o not in m['outputs'] and not p[:2].any() and
                    all(r['op'] in ('CONV_2D', 'DEPTHWISE_CONV_2D') and r['inputs'][0] == o for r in readers)):
                # An int8 PAD fills with the zero point, i.e. 0.0: the same as the convolution's
                # own zero padding, which is how the source model (PyTorch) had it.
                folded_pad[o] = p[2:]  # [[top, bottom], [left, right]]
                onnx_name[o] = value(ins[0])
                nchw.add(o)
                continue
            y = out_name(o)
            nodes.append(helper.make_node('Pad', [value(ins[0]), init(fresh('pads'), np.concatenate([p[:, 0], p[:, 1]]).astype(np.int64))],
                                          [y], mode='constant'))
            onnx_name[o] = y
            nchw.add(o)
            continue
        if kind in ('CONV_2D', 'DEPTHWISE_CONV_2D'):
            if ins[0] not in nchw:
                raise ConvertError(f'{where}: input is not a rank-4 activation')
            _, ih, iw, ic = T[ins[0]]['shape']
            w = dequantize(m, ins[1])
            if kind == 'CONV_2D':
                # options: padding, stride_w, stride_h, fused_activation_function, dilation_w, dilation_h
                pad, sw, sh, act = opt.scalar(0, 'b'), opt.scalar(1, 'i'), opt.scalar(2, 'i'), opt.scalar(3, 'b')
                dw, dh = opt.scalar(4, 'i', 1), opt.scalar(5, 'i', 1)
                wk = w.transpose(0, 3, 1, 2)  # OHWI → OIHW
                group = ic // wk.shape[1]
            else:
                # options: padding, stride_w, stride_h, depth_multiplier, fused_activation_function, dilation_w, dilation_h
                pad, sw, sh, act = opt.scalar(0, 'b'), opt.scalar(1, 'i'), opt.scalar(2, 'i'), opt.scalar(4, 'b')
                dw, dh = opt.scalar(5, 'i', 1), opt.scalar(6, 'i', 1)
                wk = w.transpose(3, 0, 1, 2)  # 1HW(C·M) → (C·M)1HW
                group = ic
            kh, kw = wk.shape[2], wk.shape[3]
            if pad == 0:  # SAME
                (pt, pb), (pl, pr) = same_pads(ih, kh, sh, dh), same_pads(iw, kw, sw, dw)
            else:
                pt = pb = pl = pr = 0
            if ins[0] in folded_pad:
                (et, eb), (el, er) = folded_pad[ins[0]]
                pt, pb, pl, pr = pt + int(et), pb + int(eb), pl + int(el), pr + int(er)
            act = fused(act, where)
            cin = [value(ins[0]), init(fresh('w'), wk)]
            if len(ins) > 2 and ins[2] >= 0:
                cin.append(init(fresh('b'), bias_value(m, ins[2], ins[0], ins[1], warnings)))
            y = out_name(o) if act is None else fresh('conv')
            nodes.append(helper.make_node('Conv', cin, [y], kernel_shape=[kh, kw], strides=[sh, sw],
                                          dilations=[dh, dw], pads=[pt, pl, pb, pr], group=group))
            onnx_name[o] = activation(y, act, out_name(o))
            nchw.add(o)
            continue
        if kind in ('AVERAGE_POOL_2D', 'MAX_POOL_2D'):
            if ins[0] not in nchw:
                raise ConvertError(f'{where}: input is not a rank-4 activation')
            # Pool2DOptions: padding, stride_w, stride_h, filter_width, filter_height, fused_activation_function
            pad, sw, sh = opt.scalar(0, 'b'), opt.scalar(1, 'i'), opt.scalar(2, 'i')
            fw, fh, act = opt.scalar(3, 'i'), opt.scalar(4, 'i'), opt.scalar(5, 'b')
            _, ih, iw, _ = T[ins[0]]['shape']
            if pad == 0:
                (pt, pb), (pl, pr) = same_pads(ih, fh, sh, 1), same_pads(iw, fw, sw, 1)
            else:
                pt = pb = pl = pr = 0
            act = fused(act, where)
            y = out_name(o) if act is None else fresh('pool')
            attrs = dict(kernel_shape=[fh, fw], strides=[sh, sw], pads=[pt, pl, pb, pr])
            if kind == 'AVERAGE_POOL_2D':
                attrs['count_include_pad'] = 0  # TFLite averages over the valid taps only
            nodes.append(helper.make_node('AveragePool' if kind == 'AVERAGE_POOL_2D' else 'MaxPool', [value(ins[0])], [y], **attrs))
            onnx_name[o] = activation(y, act, out_name(o))
            nchw.add(o)
            continue
        if kind == 'ADD':
            a, b = value(ins[0]), value(ins[1])
            if (ins[0] in nchw) != (ins[1] in nchw) and T[ins[0]]['shape'] != T[ins[1]]['shape']:
                raise ConvertError(f'{where}: broadcasting between layouts is not supported')
            act = fused(opt.scalar(0, 'b') if opt is not None else 0, where)
            y = out_name(o) if act is None else fresh('add')
            nodes.append(helper.make_node('Add', [a, b], [y]))
            onnx_name[o] = activation(y, act, out_name(o))
            if ins[0] in nchw:
                nchw.add(o)
            continue
        if kind == 'MEAN':
            axes = sorted(int(a) % 4 for a in const_value(m, ins[1]).reshape(-1))
            keep = bool(opt.scalar(0, 'B')) if opt is not None else False
            if ins[0] not in nchw or axes != [1, 2]:
                raise ConvertError(f'{where}: only a MEAN over H and W of a rank-4 activation is supported (axes {axes})')
            g = fresh('gap')
            nodes.append(helper.make_node('GlobalAveragePool', [value(ins[0])], [g]))
            y = out_name(o)
            if keep:
                nodes.append(helper.make_node('Identity', [g], [y]))
                nchw.add(o)
            else:
                nodes.append(helper.make_node('Flatten', [g], [y], axis=1))
            onnx_name[o] = y
            continue
        if kind == 'RESHAPE':
            x = as_nhwc_flat(ins[0])
            y = out_name(o)
            if len(oshape) == 4:
                # Reshape in TFLite's (NHWC) element order, then to NCHW.
                n, h, w, c = oshape
                r = fresh('reshape')
                nodes.append(helper.make_node('Reshape', [x, init(fresh('shape'), np.array(oshape, np.int64))], [r]))
                if h * w == 1 or c == 1:  # the same element order in NHWC and NCHW
                    nodes.append(helper.make_node('Reshape', [r, init(fresh('shape'), np.array([n, c, h, w], np.int64))], [y]))
                else:
                    nodes.append(helper.make_node('Transpose', [r], [y], perm=[0, 3, 1, 2]))
                nchw.add(o)
            else:
                nodes.append(helper.make_node('Reshape', [x, init(fresh('shape'), np.array(oshape, np.int64))], [y]))
            onnx_name[o] = y
            continue
        if kind == 'FULLY_CONNECTED':
            # options: fused_activation_function, weights_format, keep_num_dims
            act = fused(opt.scalar(0, 'b') if opt is not None else 0, where)
            if opt is not None and (opt.scalar(1, 'b') != 0 or opt.scalar(2, 'B')):
                raise ConvertError(f'{where}: shuffled weights or keep_num_dims are not supported')
            w = dequantize(m, ins[1])
            x = as_nhwc_flat(ins[0])
            if len(T[ins[0]]['shape']) != 2:
                f = fresh('flat')
                nodes.append(helper.make_node('Reshape', [x, init(fresh('shape'), np.array([-1, w.shape[1]], np.int64))], [f]))
                x = f
            gin = [x, init(fresh('w'), w)]
            if len(ins) > 2 and ins[2] >= 0:
                gin.append(init(fresh('b'), bias_value(m, ins[2], ins[0], ins[1], warnings)))
            y = out_name(o) if act is None else fresh('fc')
            nodes.append(helper.make_node('Gemm', gin, [y], transB=1))
            onnx_name[o] = activation(y, act, out_name(o))
            continue
        if kind == 'SOFTMAX':
            beta = opt.scalar(0, 'f', 0.0) if opt is not None else 1.0
            x = value(ins[0])
            if ins[0] in nchw:
                raise ConvertError(f'{where}: SOFTMAX of a rank-4 activation is not supported')
            if beta != 1.0:
                b = fresh('beta')
                nodes.append(helper.make_node('Mul', [x, init(fresh('b'), np.array(beta, np.float32))], [b]))
                x = b
            y = out_name(o)
            nodes.append(helper.make_node('Softmax', [x], [y], axis=-1))
            onnx_name[o] = y
            continue
        raise ConvertError(f'{where}: op not supported by this converter')

    graph_outputs = []
    for i in m['outputs']:
        t = T[i]
        name = safe(t['name']) or f'output{i}'
        shape = list(t['shape'])
        if i in nchw:
            shape = [shape[0], shape[3], shape[1], shape[2]]
        nodes.append(helper.make_node('Identity', [onnx_name[i]], [name]))
        graph_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))

    graph = helper.make_graph(nodes, 'tflite_dequantized', graph_inputs, graph_outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)],
                              producer_name='litefy tflite_to_onnx.py')
    model.ir_version = 7
    meta = {}
    for role, idx in (('input', m['inputs'][0]), ('output', m['outputs'][0])):
        q = T[idx]['quant']
        meta[f'tflite_{role}_type'] = T[idx]['type']
        if q is not None:
            meta[f'tflite_{role}_scale'] = repr(float(q['scale'][0]))
            meta[f'tflite_{role}_zero_point'] = str(int(q['zero_point'][0]))
    meta['tflite_input_layout'] = 'NCHW' if m['inputs'][0] not in nchw else 'NHWC'
    onnx.helper.set_model_props(model, meta)
    return model, op_counts, warnings, meta


def safe(name):
    return ''.join(c if c.isalnum() or c == '_' else '_' for c in name)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('model')
    p.add_argument('out')
    p.add_argument('--keep-pad', action='store_true',
                   help='emit Pad nodes instead of folding a PAD into the convolutions that read it')
    a = p.parse_args()
    with open(a.model, 'rb') as f:
        data = f.read()
    try:
        m = read_model(data)
        model, op_counts, warnings, meta = convert(m, fold_pad=not a.keep_pad)
    except ConvertError as e:
        print(f'tflite_to_onnx: {a.model}: {e}', file=sys.stderr)
        return 1
    onnx.checker.check_model(model)
    onnx.save(model, a.out)
    for w in warnings:
        print(f'tflite_to_onnx: warning: {w}', file=sys.stderr)
    print(json.dumps({'model': a.model, 'out': a.out, 'tflite_ops': op_counts,
                      'onnx_nodes': len(model.graph.node), 'initializers': len(model.graph.initializer),
                      **meta}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
