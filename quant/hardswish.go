package quant

import "math"

// TFLite's int8 HARD_SWISH (reference_ops::HardSwish with the parameters
// HardSwishPrepare computes): the input is moved to a 16-bit "high
// resolution" scale (×2⁷), a ReLU-ish factor in [0, 1] is computed in Q15
// from it, and their product is rescaled to the output. Scales are combined
// in float32 as in HardSwishPrepare.

type hardSwishParams struct {
	inZP, outZP int32
	reluishMult int16
	reluishExp  int
	outMult     int16
	outExp      int
}

func newHardSwishParams(inScale, outScale float32, inZP, outZP int32) hardSwishParams {
	hires := (1.0 / 128.0) * inScale
	const reluishScale = float32(3.0 / 32768.0)
	p := hardSwishParams{inZP: inZP, outZP: outZP}
	q, e := QuantizeMultiplier(float64(hires / outScale))
	p.outMult, p.outExp = downScaleToInt16(q), e
	q, e = QuantizeMultiplier(float64(hires / reluishScale))
	p.reluishMult, p.reluishExp = downScaleToInt16(q), e
	return p
}

// downScaleToInt16 rounds a Q31 multiplier to Q15
// (DownScaleInt32ToInt16Multiplier).
func downScaleToInt16(m int32) int16 {
	const off = 1 << 15
	if m >= math.MaxInt32-off {
		return math.MaxInt16
	}
	return int16((m + off) >> 16)
}

// srdhm16 is gemmlowp's SaturatingRoundingDoublingHighMul on int16.
func srdhm16(a, b int16) int16 {
	if a == b && a == math.MinInt16 {
		return math.MaxInt16
	}
	ab := int32(a) * int32(b)
	nudge := int32(1 << 14)
	if ab < 0 {
		nudge = 1 - (1 << 14)
	}
	return int16((ab + nudge) / (1 << 15))
}

// sdhm16 is the non-rounding SaturatingDoublingHighMul (truncating, like
// ARM's SQDMULH).
func sdhm16(a, b int16) int16 {
	if a == b && a == math.MinInt16 {
		return math.MaxInt16
	}
	return int16(int32(a) * int32(b) / (1 << 15))
}

func satShiftLeft16(v int16, amount int) int16 {
	r := int64(v) * (1 << amount)
	return int16(max(math.MinInt16, min(math.MaxInt16, r)))
}

func rdbpot16(x int16, exp int) int16 { return int16(RoundingDivideByPOT(int32(x), exp)) }

func (p *hardSwishParams) apply(q int8) int8 {
	in := int16(int32(q) - p.inZP)
	hires := in * (1 << 7)
	preshiftOut := srdhm16(hires, p.outMult)
	reluish := hires
	if p.reluishExp > 0 {
		reluish = satShiftLeft16(reluish, p.reluishExp-1)
	}
	reluish = srdhm16(reluish, p.reluishMult)
	if p.reluishExp > 0 {
		reluish = satShiftLeft16(reluish, 1)
	}
	if p.reluishExp < 0 {
		reluish = rdbpot16(reluish, -p.reluishExp)
	}
	reluish = int16((int32(reluish) + (1 << 15)) >> 1)
	out := int32(rdbpot16(sdhm16(reluish, preshiftOut), -p.outExp)) + p.outZP
	return sat8(out)
}
