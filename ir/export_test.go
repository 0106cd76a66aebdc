package ir

// PoisonOutputs exposes poisonOutputs to the package's external tests.
var PoisonOutputs = &poisonOutputs
