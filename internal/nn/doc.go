// Package nn is a small reverse-mode autograd kernel over dense float64 matrices: the ops,
// losses, Adam and parameter files that the neural forecasters and the PPO agent need.
package nn
