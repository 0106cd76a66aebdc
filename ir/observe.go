package ir

// Value observation: calibration for quantization needs the range of every
// value over many inferences. SessionOptions.Observe hands each value's
// buffer to a callback right after it is computed, so no copy is made and
// Run stays allocation-free. The tensor is valid during the call only:
// later nodes of the same Run may reuse its bytes (the memory plan), so a
// callback that keeps it must Clone it.

func (s *Session) observeInputs() {
	for i, v := range s.g.Inputs {
		s.obs(v, s.inputs[i])
	}
}

func (s *Session) observeStep(st *step) {
	for i, v := range st.n.Outputs {
		s.obs(v, st.out[i])
	}
}
