// Package ir is litefy's intermediate representation: a Graph of Nodes in
// topological order over SSA Values, each with a dtype and a shape whose
// dims may be symbolic, constants held as Tensors, and node attributes.
// One op registry (Register, Lookup) declares each op's arity,
// attributes, shape rule and float32 reference kernel (and whether it may
// run in place); shape inference (InferShapes), constant folding
// (FoldConstants), the verifier (Verify), the text form (Print, Parse)
// and the reference interpreter (NewSession, its values in one arena
// planned by liveness: PlanMemory) all read it.
//
// # Concurrency
//
// A Graph is not safe for concurrent modification. Separate Sessions,
// also made by NewSession from one graph at the same time, may Run
// concurrently (TestConcurrentSessions, under -race in make test); one
// Session runs one Run at a time. The registry is filled at init and read-only after it.
//
// # Limits
//
// MemoryLimit (the available memory by default; SetMemoryLimit or
// SessionOptions.MaxMemory override it) bounds what a Session allocates:
// NewSession refuses, before allocating, a value too large on its own or a
// plan whose constants and arena pass it, with a *LimitError naming the
// tensor and its dims. Shape inference refuses dims whose size overflows
// int64.
package ir
