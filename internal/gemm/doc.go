// Package gemm implements single-precision general matrix multiplication
// (SGEMM) for litefy's float32 reference interpreter.
//
// Convolutions (via im2col or as 1×1 convolutions), MatMul and Gemm /
// FullyConnected all reduce to C += A·B, and on models such as
// efficientnet_b0 that product is where nearly all the arithmetic time
// goes. There is no maintained pure-Go float32 GEMM with SIMD kernels:
// gonum's blas32 is written in scalar Go and runs an order of magnitude
// below what the hardware can do. This package therefore carries its own
// GotoBLAS-style implementation:
//
//   - A and B are copied ("packed") into cache-friendly panels, blocked over
//     k (kc), m (mc) and n (nc) so that the working set stays in L1/L2/L3.
//   - On amd64 CPUs with AVX2 and FMA (detected at run time) a 6×16
//     register-blocked microkernel written in Go assembly does the work,
//     and matrix-vector shapes (m == 1 or n == 1) use dedicated AVX2 dot
//     and axpy kernels.
//   - Elsewhere, or when built with the purego tag, portable Go kernels
//     with the same blocking are used.
//
// All matrices are row-major with explicit leading dimensions. Results are
// accumulated into C, so callers can pre-fill C with a bias (or zero it).
//
// Every routine is single-threaded. Callers parallelise by splitting C into
// disjoint row or column blocks and calling the routines concurrently; this
// is safe as long as each goroutine uses its own Scratch (the package-level
// functions take one from a sync.Pool).
package gemm
