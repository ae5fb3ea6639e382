package main

// manyLoops is false: Windows has no SO_REUSEPORT to give each loop a
// listener of its own, so -loops above 1 is refused.
const manyLoops = false
