package quant

import (
	"fmt"
	"math"

	"github.com/litefy/litefy/ir"
)

// Profile names the runtime whose int8 arithmetic a Simulator reproduces.
// Runtimes agree on what each op means but not on how they round: TFLite's
// own kernels rescale in fixed point, XNNPACK mostly in float32 with ties
// to even, Arm NN's reference backend dequantizes to float32 and rounds
// ties away from zero. A 1-LSB difference on one element is amplified by
// later layers, so comparing a runtime with the simulation takes the
// runtime's own profile.
type Profile string

const (
	// ProfileTFLite is TFLite's built-in int8 kernels, what TFLite (and
	// tflite-micro) run without a delegate: the reference kernels'
	// fixed-point arithmetic in its default double-rounding form, and the
	// optimized MEAN. The zero Profile means this one.
	ProfileTFLite Profile = "tflite"
	// ProfileXNNPACK is XNNPACK through TFLite's delegate, LiteRT's CPU
	// path (and LiteRT.js's): CONV_2D, DEPTHWISE_CONV_2D and
	// FULLY_CONNECTED requantized in float32, ADD in XNNPACK's 20-bit
	// fixed point, MUL and MEAN in float32 (xnnpack.go), RESIZE_BILINEAR
	// in Q11 weights and Q22 blends (resize_profiles.go).
	ProfileXNNPACK Profile = "xnnpack"
	// ProfileArmNNRef is Arm NN's reference backend (CpuRef) as of 20.08
	// (armnn.go; resizing in resize_profiles.go).
	ProfileArmNNRef Profile = "armnn-ref"
)

// Profiles are the known profiles, the default first.
var Profiles = []Profile{ProfileTFLite, ProfileXNNPACK, ProfileArmNNRef}

// ParseProfile returns the profile named s ("" is ProfileTFLite).
func ParseProfile(s string) (Profile, error) {
	if s == "" {
		return ProfileTFLite, nil
	}
	for _, p := range Profiles {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("quant: unknown simulation profile %q (want tflite, xnnpack or armnn-ref)", s)
}

func (o SimOptions) profile() Profile {
	if o.Profile == "" {
		return ProfileTFLite
	}
	return o.Profile
}

// binaryKernel is the int8 ADD, SUB or MUL of the options' profile. SUB
// is ADD with input 2's rescaling negated in every runtime: TFLite's
// sub.cc multiplies input2_multiplier by −1 and runs the ADD arithmetic,
// XNNPACK's subtract passes −s₂/s_out to the add parameters, Arm NN
// subtracts in float32.
func (o SimOptions) binaryKernel(op string, a, b, out *ir.QuantParams, lo, hi int32) func(x, y int8) int8 {
	switch o.profile() {
	case ProfileArmNNRef:
		return armnnBinary(op, a, b, out, lo, hi)
	case ProfileXNNPACK:
		switch op {
		case "Add":
			return xnnAdd(a, b, out, lo, hi, false)
		case "Sub":
			return xnnAdd(a, b, out, lo, hi, true)
		}
		return xnnMul(a, b, out, lo, hi)
	}
	switch op {
	case "Add":
		return int8Add(a, b, out, lo, hi, false)
	case "Sub":
		return int8Add(a, b, out, lo, hi, true)
	}
	return int8Mul(a, b, out, lo, hi)
}

// meanKernel is MEAN over count elements per plane.
func (o SimOptions) meanKernel(in, dst []int8, planes, count int, iq, oq *ir.QuantParams) func() {
	switch o.profile() {
	case ProfileXNNPACK:
		return xnnMeanHW(in, dst, planes, count, iq, oq)
	case ProfileArmNNRef:
		return armnnMeanHW(in, dst, planes, count, iq, oq)
	}
	return meanHW(in, dst, planes, count, iq, oq)
}

// tableLUT is the 256-entry table of LOGISTIC or TANH. TFLite's optimized
// kernels and XNNPACK both tabulate the float function (buildLUT); Arm NN
// computes its own float formula per element (armnnLUT).
func (o SimOptions) tableLUT(op string, in, out *ir.QuantParams) *[256]int8 {
	if o.profile() == ProfileArmNNRef {
		return armnnLUT(in, out, armnnFunc(op))
	}
	f := sigmoid32
	if op == "Tanh" {
		f = func(x float32) float32 { return float32(math.Tanh(float64(x))) }
	}
	return buildLUT(in, out, f)
}
