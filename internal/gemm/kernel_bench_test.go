package gemm

import (
	"fmt"
	"testing"
)

// BenchmarkKernel measures the tile kernels alone on packed operands in L1,
// i.e. the attainable peak.
func BenchmarkKernel(b *testing.B) {
	if !haveAsm {
		b.Skip()
	}
	for _, k := range []int{27, 256} {
		for _, rows := range []int{6, 4} {
			b.Run(fmt.Sprintf("k%d_rows%d", k, rows), func(b *testing.B) {
				const panels = 8
				ap := grow(nil, k*mr)
				bp := grow(nil, k*nr*panels)
				c := grow(nil, mr*nr*panels)
				for b.Loop() {
					if rows == 6 {
						sgemmKernel6x16(k, &ap[0], 1, mr, &bp[0], nr, nr*k, &c[0], nr*panels, rows, panels, nil, nil)
					} else {
						sgemmKernel4x16(k, &ap[0], 1, mr, &bp[0], nr, nr*k, &c[0], nr*panels, rows, panels, nil, nil)
					}
				}
				b.ReportMetric(2*float64(rows*nr*k*panels)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
