// Package gemm implements single-precision general matrix multiplication
// (SGEMM) for litefy's float32 reference interpreter.
//
// Convolutions (via im2col or as 1×1 convolutions), MatMul and Gemm /
// FullyConnected all reduce to C += A·B, and on models such as
// efficientnet_b0 that product is where nearly all the arithmetic time
// goes. There is no maintained Go float32 GEMM with a SIMD microkernel:
// gonum's blas32 Sgemm is blocked Go code over, at best, SSE dot/axpy
// helpers, with no register blocking, and runs far below what the
// hardware can do; cgo BLAS would cost the project its pure-Go build.
// This package therefore carries its own GotoBLAS-style implementation:
//
//   - C is computed in register tiles of 6 (or 4) rows by 16 (or, at a
//     narrow right edge, 8) columns, blocked over k (kc ≤ 256) and n so
//     that the rows of A in use stay in L1 and the block of B in L2. A is
//     read in place, and so is B when it is row-major: with the small m of
//     convolution GEMMs a copy would cost more than it saves. B is copied
//     ("packed") into contiguous panels when it is given transposed, or,
//     in products of more than 512 rows, when its row stride is a multiple
//     of 2 KiB, so that its rows collide in the cache (with fewer rows the
//     copy costs more than the contiguous panels save). Partial edge tiles
//     are packed zero-padded.
//   - Matrix-vector shapes (m == 1, or n ≤ 3) and a few leftover columns
//     use dot-product and axpy kernels instead of mostly empty tiles; the
//     leftover columns' dot products run 12 rows at a time right after the
//     tiles that read those rows of A, while they are in L1.
//   - The 16-column kernels prefetch the next row tile of A: a late
//     layer's weights are read once per inference, from L3. The AVX-512
//     ones also prefetch the row of B eight k steps ahead: a MatMul's
//     weights read in place have rows 3–12 KiB apart, which the hardware
//     prefetchers do not follow.
//   - On amd64 CPUs with AVX2 and FMA (detected at run time with
//     golang.org/x/sys/cpu) all of these kernels are Go assembly. On a
//     single core of the development machine (AMD EPYC, one 256-bit FMA
//     per cycle, about 40 GFLOP/s peak) they reach 32–38 GFLOP/s on the
//     efficientnet_b0 convolution shapes, against about 3 GFLOP/s for the
//     portable Go kernels.
//   - Where the CPU has AVX-512F, the 16-column tiles run on ZMM registers,
//     four panels (6×64) at a time, then three, two or one. They compute every
//     element in the same order as the AVX2 kernels, so the results do not
//     depend on which of the two runs (TestAVX512SameBits). On one core of
//     an Intel Xeon (Sapphire Rapids) the convolution shapes go from 70–90
//     to 100–130 GFLOP/s. On one core of an AMD EPYC (Zen 4, 2026-12-04),
//     whose AVX-512 runs on 256-bit units (the same 32 flops per cycle as
//     AVX2: 114 GFLOP/s in a loop of FMAs alone), the 6×64 tile reaches 110
//     GFLOP/s in L1 and the GEMMs of efficientnet_b0, mobilenet_v2,
//     resnet18 and convnext_tiny 93–116 (best of 60 runs; 78–115 before
//     the B prefetch and the 512-row packing rule; the lowest both times
//     convnext_tiny's 49-row MatMuls, whose weights stream from memory).
//   - Elsewhere, or when built with the purego tag, portable Go kernels
//     with the same structure are used.
//
// All matrices are row-major with explicit leading dimensions. Results are
// accumulated into C, so callers can pre-fill C with a bias (or zero it);
// SgemmBias stores bias + A·B instead, with the same bits, sparing that
// pass over C.
//
// Every routine is single-threaded. Callers parallelise by splitting C into
// disjoint row or column blocks and calling the routines concurrently; this
// is safe as long as each goroutine uses its own Scratch (the package-level
// functions take one from a sync.Pool).
package gemm
