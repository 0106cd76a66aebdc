//go:build !amd64 || purego

package ir

// haveActivationAsm is false: this build has only the Go activation loops
// in fastmath.go.
const haveActivationAsm = false

// haveActivationAVX512 is false: no assembly in this build.
const haveActivationAVX512 = false

func sigmoidAVX512(x, y *float32, n int) { panic("ir: no activation assembly") }
func swishAVX512(x, y *float32, n int)   { panic("ir: no activation assembly") }

func sigmoidMulAVX2(x, y *float32, n int)   { panic("ir: no activation assembly") }
func sigmoidMulAVX512(x, y *float32, n int) { panic("ir: no activation assembly") }

func sigmoidAVX2(x, y *float32, n int)   { panic("ir: no activation assembly") }
func swishAVX2(x, y *float32, n int)     { panic("ir: no activation assembly") }
func reluAVX2(x, y *float32, n int)      { panic("ir: no activation assembly") }
func erfAVX2(x, y *float32, n int)       { panic("ir: no activation assembly") }
func erfAVX512(x, y *float32, n int)     { panic("ir: no activation assembly") }
func relu6AVX2(x, y *float32, n int)     { panic("ir: no activation assembly") }
func hardSwishAVX2(x, y *float32, n int) { panic("ir: no activation assembly") }

func addAVX2(y, a, b *float32, n int)       { panic("ir: no binary assembly") }
func subAVX2(y, a, b *float32, n int)       { panic("ir: no binary assembly") }
func mulAVX2(y, a, b *float32, n int)       { panic("ir: no binary assembly") }
func divAVX2(y, a, b *float32, n int)       { panic("ir: no binary assembly") }
func addScalarAVX2(y, a, b *float32, n int) { panic("ir: no binary assembly") }
func subScalarAVX2(y, a, b *float32, n int) { panic("ir: no binary assembly") }
func mulScalarAVX2(y, a, b *float32, n int) { panic("ir: no binary assembly") }
func divScalarAVX2(y, a, b *float32, n int) { panic("ir: no binary assembly") }
