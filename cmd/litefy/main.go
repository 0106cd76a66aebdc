// Command litefy converts ONNX models into edge-friendly ("lite") variants
// and inspects, runs and diffs them. Every command is a thin shell over the
// library packages (ir, ir/onnx, ...), so a training pipeline can make the
// same calls.
//
// Exit status: 0 success, 1 bad input (the model, a file, a value), 2 usage,
// 130 and 143 interrupted by SIGINT and SIGTERM.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

func main() {
	os.Exit(runInterruptible(os.Args[1:], os.Stdout, os.Stderr))
}

// runInterruptible is run with SIGINT and SIGTERM handled: a signal waits
// for a file being written to be renamed into place (or its temporary file
// removed), stops every later write, and exits with 128 + the signal's
// number after one line on stderr. Every output is therefore complete or
// absent, and no temporary file is left.
func runInterruptible(args []string, stdout, stderr io.Writer) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		tensorio.StopWrites()
		name, code := "SIGINT", 130
		if s == syscall.SIGTERM {
			name, code = "SIGTERM", 143
		}
		fmt.Fprintf(stderr, "litefy: interrupted by %s\n", name)
		os.Exit(code)
	}()
	return run(args, stdout, stderr)
}

// usageError marks errors in how litefy was called (exit status 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		// A panic is a litefy bug; still answer with one line and a status.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "litefy: internal error: %v\n", r)
			code = 1
		}
	}()
	defer ir.SetMemoryLimit(ir.SetMemoryLimit(0)) // --max-memory lasts one command
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(stderr, "litefy: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "Run 'litefy --help' for usage.\n")
		return 2
	}
	return 1
}

func newRootCmd() *cobra.Command {
	var opt convertOptions
	root := &cobra.Command{
		Use:   "litefy MODEL.onnx -o OUT.onnx",
		Short: "Make ONNX models edge-friendly: import, rewrite, quantize, export",
		Long: `litefy imports an ONNX model, checks it, and writes it back out.

  litefy MODEL.onnx -o OUT.onnx [--preset lite]
                                     import, verify, rewrite, export
  litefy MODEL.onnx -o OUT.tflite [--preset none] [--quant int8|float32|float16|dynamic] [--io int8|uint8|float32]
                                     [--calib DIR|x.npy] [--calib-count N] [-q] [--target T] [--padding pad|taps]
                                     lite pipeline, calibration, full-int8 TFLite (NHWC input and output)
  litefy check MODEL.onnx --target T what a device runs natively, what falls back
  litefy diff MODEL.onnx --preset lite
                                     what the rewrite changed (text, --json, --html)
  litefy passes                      list passes and pipelines
  litefy inspect MODEL.onnx          inputs, outputs, op histogram, params, MACs
  litefy run MODEL.onnx --input x.npy --output y.npy
                                     run the reference interpreter
  litefy quantize-report MODEL.onnx [--calib DIR|x.npy] [--json]
                                     int8 per-tensor SQNR against float
  litefy verify OUT.tflite --ref MODEL.onnx [--json] [--sim tflite|xnnpack|armnn-ref]
                                     check a .tflite litefy wrote against its ONNX model; int8
                                     SQNR and output agreement (-o OUT.tflite --report R.json
                                     writes the same JSON while converting)`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("expected one MODEL argument, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if opt.output == "" {
				return usagef("missing -o OUT")
			}
			return convertModel(args[0], opt, cmd.ErrOrStderr())
		},
	}
	root.Flags().StringVarP(&opt.output, "output", "o", "", "output file: .onnx or .tflite")
	root.Flags().StringArrayVar(&opt.inputShapes, "input-shape", nil, "fix an input's dynamic dims: NAME=1,3,224,224 (repeatable)")
	root.Flags().BoolVar(&opt.verify, "verify", false, "run the IR verifier after every pass")
	root.Flags().StringVar(&opt.preset, "preset", "", "rewrite pipeline: none, cleanup or lite (see 'litefy passes'); default none for .onnx, lite for .tflite")
	root.Flags().StringVar(&opt.quant, "quant", "", "TFLite number format: int8 (full-integer, calibrated; the default), float32, float16 (float16 weights) or dynamic (int8 weights, hybrid kernels)")
	root.Flags().StringVar(&opt.io, "io", "int8", "int8 TFLite input/output type: int8, uint8 (QUANTIZE at the edges) or float32 (QUANTIZE/DEQUANTIZE at the edges)")
	opt.calib.register(root)
	root.Flags().StringVar(&opt.padding, "padding", "", "TFLite, where SAME padding does not fit a convolution: pad (a PAD op; the default) or taps (zero kernel taps, no PAD op; the default for --target armnn)")
	root.Flags().StringVar(&opt.target, "target", "", "fail, naming the nodes, when any node would not run natively on this device target ("+lower.TargetNames()+"; the report of 'litefy check')")
	root.Flags().Float64Var(&opt.minAgreement, "min-agreement", 0.9, "lite preset: warn when top-1 agreement with the original on held-apart --calib samples is below this share")
	root.Flags().StringVar(&opt.repair, "repair", "fit", "lite preset with --calib data: fit (repair the lite variant against the original, label-free) or none")
	root.Flags().IntVar(&opt.distillEpochs, "distill-epochs", 0, "repair's distillation epochs: 0 auto (40 where they cost ≤ 6e10 MACs, else none), -1 none, N that many")
	root.Flags().DurationVar(&opt.distillBudget, "distill-budget", 0, "stop the distillation at the first epoch end past this time (the file then depends on the machine's speed)")
	root.Flags().StringSliceVar(&opt.keepFloat, "keep-float", nil, "int8 TFLite: compute these nodes (names after the rewrite, as 'litefy quantize-report' lists them) in float32, with DEQUANTIZE/QUANTIZE where they meet int8 ones")
	root.Flags().Float64Var(&opt.minSQNR, "min-sqnr", 0, "int8 TFLite: keep the fewest most sensitive nodes in float32 for which every output reaches this SQNR (dB) against float on the calibration samples (0: off)")
	root.Flags().StringVar(&opt.equalize, "equalize", "", "int8 TFLite: cross-layer equalization before calibrating (default: ranges with --calib data, none without): none, relu (pairs across Relu, LeakyRelu, PRelu: exact), clip (Relu6/Clip made Relu: not exact) or ranges (on the calibration data's per-channel ranges, Relu6 kept); docs/quantization.md; the file records it, and verify redoes it (ranges on the same --calib)")
	root.Flags().StringVar(&opt.biasCorrect, "bias-correction", "", "int8 TFLite: remove each Conv/Gemm's mean int8 error on the calibration data (default: local with --calib data, none without): none, local (the int8 weights' own), total (all of it, layer by layer) or auto (local where it raises the output SQNR on held-out calibration samples by 1 dB); the file records it and its data's SHA-256, and verify redoes it on the same --calib")
	root.Flags().BoolVar(&opt.floatIslands, "float-islands", true, "int8 TFLite for XNNPACK: compute in float32 the ops XNNPACK delegates in float only (RSQRT), between DEQUANTIZE and QUANTIZE, instead of leaving them int8 to TFLite's reference kernels")
	root.Flags().StringSliceVar(&opt.sqnrOutputs, "sqnr-outputs", nil, "the outputs --min-sqnr applies to (default: all; leave out an output a discrete decoder makes, such as a mask of local maxima)")
	root.Flags().StringVar(&opt.report, "report", "", "int8 TFLite: write verify's JSON report (per-tensor SQNR, output agreement) for the written file")
	root.Flags().StringVar(&opt.dumpAfter, "dump-after", "", "print the IR text to stderr after the named pass")
	var maxMemory string
	root.PersistentFlags().StringVar(&maxMemory, "max-memory", "", "refuse, naming the tensor, models whose tensors or interpreter buffers would take more than this (4GiB, 512MB; default: the available memory)")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if maxMemory == "" {
			return nil
		}
		n, err := ir.ParseBytes(maxMemory)
		if err != nil {
			return usagef("--max-memory: %v", err)
		}
		ir.SetMemoryLimit(n)
		return nil
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newInspectCmd(), newRunCmd(), newPassesCmd(), newDiffCmd(), newCheckCmd(), newQuantizeReportCmd(), newVerifyCmd())
	for _, c := range root.Commands() {
		c.SilenceUsage, c.SilenceErrors = true, true
		c.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	}
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s: expected %s", cmd.Name(), what)
		}
		return nil
	}
}
