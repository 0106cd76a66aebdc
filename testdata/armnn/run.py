#!/usr/bin/python3
"""Run a .tflite in Arm NN 20.08 (Debian python3-pyarmnn): TfLite parser, CpuRef backend.

Usage: /usr/bin/python3 run.py MODEL.tflite --input x.npy [--input ...] --output-dir DIR

Inputs are .npy files of exactly the model's input shapes and types (float32, or raw int8/uint8
for quantized models; 4-D inputs are NHWC);
outputs are written as DIR/out0.npy, DIR/out1.npy, ... in the subgraph's output order.
One JSON line on stdout describes the run. Arm NN rejects a model with an op its parser
does not know: that is a failure (exit 1) with the parser's message.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import pyarmnn as ann

# The numpy type of each Arm NN input type the harness feeds (int8 models
# take raw int8 or uint8 .npy inputs).
DTYPES = {ann.DataType_Float32: np.float32, ann.DataType_QAsymmS8: np.int8, ann.DataType_QAsymmU8: np.uint8}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('model')
    p.add_argument('--input', action='append', default=[])
    p.add_argument('--output-dir', required=True)
    a = p.parse_args()

    parser = ann.ITfLiteParser()
    try:
        net = parser.CreateNetworkFromBinaryFile(a.model)
    except Exception as e:  # the parser raises RuntimeError with its message
        print(f'run.py: Arm NN cannot parse {a.model}: {e}', file=sys.stderr)
        return 1
    runtime = ann.IRuntime(ann.CreationOptions())
    opt_net, msgs = ann.Optimize(net, [ann.BackendId('CpuRef')], runtime.GetDeviceSpec(), ann.OptimizerOptions())
    net_id, err = runtime.LoadNetwork(opt_net)
    if err:
        print(f'run.py: LoadNetwork: {err}', file=sys.stderr)
        return 1

    in_names = parser.GetSubgraphInputTensorNames(0)
    if len(a.input) != len(in_names):
        print(f'run.py: the model has {len(in_names)} input(s), got {len(a.input)} --input', file=sys.stderr)
        return 64
    in_info = [parser.GetNetworkInputBindingInfo(0, n) for n in in_names]
    out_names = parser.GetSubgraphOutputTensorNames(0)
    out_info = [parser.GetNetworkOutputBindingInfo(0, n) for n in out_names]

    inputs = []
    for name, path, (_, ti) in zip(in_names, a.input, in_info):
        x = np.load(path)
        want = list(ti.GetShape())
        dtype = DTYPES.get(ti.GetDataType())
        if list(x.shape) != want or x.dtype != dtype:
            print(f'run.py: input {name}: {path} is {x.dtype}{list(x.shape)}, the model wants {dtype}{want}', file=sys.stderr)
            return 1
        inputs.append(np.ascontiguousarray(x))
    in_t = ann.make_input_tensors(in_info, inputs)
    out_t = ann.make_output_tensors(out_info)
    t0 = time.perf_counter()
    runtime.EnqueueWorkload(net_id, in_t, out_t)
    ms = (time.perf_counter() - t0) * 1e3
    os.makedirs(a.output_dir, exist_ok=True)
    outs = []
    for i, (name, r) in enumerate(zip(out_names, ann.workload_tensors_to_ndarray(out_t))):
        np.save(os.path.join(a.output_dir, f'out{i}.npy'), r)
        outs.append({'name': name, 'dtype': r.dtype.name, 'shape': list(r.shape)})
    print(json.dumps({'runtime': 'armnn-' + ann.ARMNN_VERSION + '-CpuRef', 'outputs': outs, 'ms': round(ms, 1)}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
