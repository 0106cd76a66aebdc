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
//   - C is computed in 6×16 register tiles, blocked over k (kc ≤ 256) and
//     n so that the rows of A in use stay in L1 and the block of B in L2.
//     A is read in place; B is copied ("packed") into contiguous panels
//     when it is reused by enough rows of A or stored transposed, and read
//     in place otherwise. Partial edge tiles are packed and zero-padded.
//   - On amd64 CPUs with AVX2 and FMA (detected at run time) the tiles are
//     computed by microkernels written in Go assembly (6×16 and, at a
//     narrow right edge, 6×8), and matrix-vector shapes (m == 1, or n ≤ 3)
//     use AVX2 dot-product and axpy kernels.
//   - Elsewhere, or when built with the purego tag, portable Go kernels
//     with the same structure are used.
//
// All matrices are row-major with explicit leading dimensions. Results are
// accumulated into C, so callers can pre-fill C with a bias (or zero it).
//
// Every routine is single-threaded. Callers parallelise by splitting C into
// disjoint row or column blocks and calling the routines concurrently; this
// is safe as long as each goroutine uses its own Scratch (the package-level
// functions take one from a sync.Pool).
package gemm
