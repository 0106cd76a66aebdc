package ir_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
)

// TestConcurrentSessions: separate sessions over one graph, each with its
// own worker threads, run at the same time (make test runs this under
// -race) and give, byte for byte, what one session gives serially.
func TestConcurrentSessions(t *testing.T) {
	for _, name := range []string{"tiny_mnv2_op13", "tiny_vit_op13", "tiny_shuffle_op13"} {
		t.Run(name, func(t *testing.T) {
			g, err := onnx.Load("../testdata/models/"+name+".onnx", onnx.Options{})
			if err != nil {
				t.Fatal(err)
			}
			const runs = 3
			inputs := make([][]*ir.Tensor, runs)
			rng := rand.New(rand.NewPCG(1, 2))
			for r := range inputs {
				for _, v := range g.Inputs {
					x := ir.NewTensor(v.Type.DType, v.Type.Shape.Sizes())
					for i := range x.Float32s() {
						x.Float32s()[i] = rng.Float32()*2 - 1
					}
					inputs[r] = append(inputs[r], x)
				}
			}
			want := make([][]byte, runs)
			s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			for r := range runs {
				outs, err := s.Run(inputs[r]...)
				if err != nil {
					t.Fatal(err)
				}
				want[r] = flatten(outs)
			}
			s.Close()

			const sessions = 4
			errs := make(chan error, sessions)
			var wg sync.WaitGroup
			for k := range sessions {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1 + k%2})
					if err != nil {
						errs <- err
						return
					}
					defer s.Close()
					for r := range runs {
						r = (r + k) % runs
						outs, err := s.Run(inputs[r]...)
						if err != nil {
							errs <- err
							return
						}
						if got := flatten(outs); !bytes.Equal(got, want[r]) {
							errs <- fmt.Errorf("session %d, run %d: outputs differ from the serial run", k, r)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

func flatten(ts []*ir.Tensor) []byte {
	var b []byte
	for _, t := range ts {
		b = append(b, t.Data...)
	}
	return b
}
