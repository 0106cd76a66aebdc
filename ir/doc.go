// Package ir is litefy's intermediate representation: a Graph of Nodes in
// topological order over SSA Values, each with a dtype and a shape whose
// dims may be symbolic, constants held as Tensors, and node attributes.
// One op registry (Register, Lookup) declares each op's arity,
// attributes, shape rule and float32 reference kernel; shape inference
// (InferShapes), constant folding (FoldConstants), the verifier (Verify),
// the text form (Print, Parse) and the reference interpreter (NewSession)
// all read it.
package ir
