package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// smoothImageRef is smoothImage as it was before it reused its memory and
// its pixel coordinates (the images must stay the same bits: they pick
// the int8 ranges written into files).
func smoothImageRef(rng *rand.Rand, c, h, w int) [][]float64 {
	uni := func(a, b float64) float64 { return a + (b-a)*rng.Float64() }
	base := make([]float64, h*w)
	coord := func(i int) (u, v float64) {
		y, x := i/w, i%w
		return float64(x) / math.Max(1, float64(w-1)), float64(y) / math.Max(1, float64(h-1))
	}
	for range 4 {
		fx, fy, a, ph := uni(-3, 3), uni(-3, 3), uni(0.2, 1), uni(0, 2*math.Pi)
		for i := range base {
			u, v := coord(i)
			base[i] += a * math.Sin(2*math.Pi*(fx*u+fy*v)+ph)
		}
	}
	for range 3 {
		cx, cy, r, a := uni(0.1, 0.9), uni(0.1, 0.9), uni(0.05, 0.3), uni(-1.5, 1.5)
		for i := range base {
			u, v := coord(i)
			base[i] += a * math.Exp(-((u-cx)*(u-cx)+(v-cy)*(v-cy))/(2*r*r))
		}
	}
	planes := make([][]float64, c)
	for ch := range planes {
		gx, gy, fx, fy, ph := uni(-1, 1), uni(-1, 1), uni(-2, 2), uni(-2, 2), uni(0, 2*math.Pi)
		p := make([]float64, h*w)
		mean := 0.0
		for i := range p {
			u, v := coord(i)
			p[i] = base[i] + gx*(u-0.5) + gy*(v-0.5) + 0.3*math.Sin(2*math.Pi*(fx*u+fy*v)+ph)
			mean += p[i]
		}
		mean /= float64(len(p))
		sd := 0.0
		for _, x := range p {
			sd += (x - mean) * (x - mean)
		}
		sd = math.Sqrt(sd / float64(len(p)))
		gain, off := uni(0.6, 1.2), uni(-0.5, 0.5)
		for i := range p {
			p[i] = (p[i]-mean)/(sd+1e-6)*gain + off
		}
		planes[ch] = p
	}
	return planes
}

func TestSmoothImageSameBits(t *testing.T) {
	sc := new(imageScratch)
	for _, d := range [][3]int{{3, 224, 224}, {1, 7, 5}, {4, 1, 1}, {3, 2, 9}, {3, 30, 30}} {
		c, h, w := d[0], d[1], d[2]
		for seed := range uint64(3) {
			want := smoothImageRef(rand.New(rand.NewPCG(seed, 7)), c, h, w)
			for _, nhwc := range []bool{false, true} {
				wantF := make([]float32, c*h*w)
				putImage(wantF, want, c, h, w, nhwc)
				got := make([]float32, c*h*w)
				smoothImage(rand.New(rand.NewPCG(seed, 7)), c, h, w, sc, func(ch int, p []float64) { putPlane(got, p, ch, c, h, w, nhwc) })
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(wantF[i]) {
						t.Fatalf("%d×%d×%d, seed %d, nhwc %v: value %d is %v, was %v", c, h, w, seed, nhwc, i, got[i], wantF[i])
					}
				}
			}
		}
	}
}

func BenchmarkSyntheticSample(b *testing.B) {
	g := loadModel(b, "tiny_mnv2_op13", nil)
	src := Synthetic(g, 1000, 1)
	ins := inputTensors(g)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		src.Sample(i%1000, ins)
		i++
	}
}
