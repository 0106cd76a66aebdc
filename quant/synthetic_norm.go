package quant

import (
	"github.com/litefy/litefy/ir"
)

// SyntheticNormalized is Synthetic for a model whose images are normalised
// with opt's Mean and Std rather than ImageNet's. Synthetic's images are in
// ImageNet-normalised units; each value is taken back to a pixel in [0,1]
// with ImageNet's statistics (clamped: real pixels saturate) and
// normalised with opt's, so a model that wants [-1,1] (mean = std = 0.5)
// is calibrated on [-1,1] data. With ImageNetNorm it is Synthetic.
func SyntheticNormalized(g *ir.Graph, n int, seed uint64, opt ImageOptions) Source {
	if opt.Mean == ImageNetNorm.Mean && opt.Std == ImageNetNorm.Std {
		return Synthetic(g, n, seed)
	}
	return &renormalized{inner: &synthetic{g: g, n: n, seed: seed}, g: g, opt: opt}
}

type renormalized struct {
	inner *synthetic
	g     *ir.Graph
	opt   ImageOptions
}

func (s *renormalized) Len() int { return s.inner.Len() }

func (s *renormalized) Sample(i int, dst []*ir.Tensor) error {
	if err := s.inner.Sample(i, dst); err != nil {
		return err
	}
	for k, v := range s.g.Inputs {
		h, w, c, nhwc, err := imageDims(v, s.opt.Layout)
		if err != nil {
			continue // not an image: left as Synthetic made it
		}
		f := dst[k].Float32s()
		for j := range f {
			ch := (j / (h * w)) % c
			if nhwc {
				ch = j % c
			}
			m, sd := ImageNetNorm.Mean[ch%3], ImageNetNorm.Std[ch%3]
			p := min(max(f[j]*sd+m, 0), 1)
			f[j] = (p - s.opt.Mean[ch%3]) / s.opt.Std[ch%3]
		}
	}
	return nil
}
