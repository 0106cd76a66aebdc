package gemm

import (
	"fmt"
	"testing"
)

// benchShapes are the GEMMs of efficientnet_b0 at 224×224 when
// convolutions are lowered to C[out, HW] += W[out, in·kh·kw]·X[in·kh·kw, HW]:
// the stem (im2col), the 1×1 expand/project convolutions at each
// resolution, the head, and the classifier as a matrix-vector product.
var benchShapes = []struct {
	name    string
	m, n, k int
	nt      bool
}{
	{"stem", 32, 12544, 27, false},
	{"b1_project", 16, 12544, 32, false},
	{"b2_expand", 96, 12544, 16, false},
	{"b2_project", 24, 3136, 96, false},
	{"b3_expand", 144, 3136, 24, false},
	{"b3_project", 40, 784, 144, false},
	{"b4_expand", 240, 784, 40, false},
	{"b4_project", 80, 196, 240, false},
	{"b5_expand", 480, 196, 80, false},
	{"b5_project", 112, 196, 480, false},
	{"b6_expand", 672, 196, 112, false},
	{"b6_project", 192, 49, 672, false},
	{"b7_expand", 1152, 49, 192, false},
	{"b7_project", 320, 49, 1152, false},
	{"head", 1280, 49, 320, false},
	{"fc_gemv", 1000, 1, 1280, false},
	{"fc_NT", 1, 1000, 1280, true},
	{"fc_m1", 1, 1000, 1280, false},
	{"se_reduce", 8, 1, 96, false},
	{"se_expand", 96, 1, 8, false},
	{"square256", 256, 256, 256, false},
	{"square256_NT", 256, 256, 256, true},
	{"square512", 512, 512, 512, false},
	{"square1024", 1024, 1024, 1024, false},
}

func BenchmarkSgemm(b *testing.B) {
	saved := useAsm
	defer func() { useAsm = saved }()
	for _, s := range benchShapes {
		for _, impl := range []string{"asm", "go"} {
			if impl == "asm" && !haveAsm {
				continue
			}
			b.Run(fmt.Sprintf("%s_%dx%dx%d/%s", s.name, s.m, s.n, s.k, impl), func(b *testing.B) {
				useAsm = impl == "asm"
				x := make([]float32, s.m*s.k)
				y := make([]float32, s.k*s.n)
				c := make([]float32, s.m*s.n)
				for i := range x {
					x[i] = float32(i%7) * 0.25
				}
				for i := range y {
					y[i] = float32(i%5) * 0.5
				}
				var sc Scratch
				for b.Loop() {
					if s.nt {
						sc.SgemmNT(s.m, s.n, s.k, x, s.k, y, s.k, c, s.n)
					} else {
						sc.Sgemm(s.m, s.n, s.k, x, s.k, y, s.n, c, s.n)
					}
				}
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
