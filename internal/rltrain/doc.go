// Package rltrain is the PPO corrector's training environment: episodes replay non-burst
// stretches of a workload's training split through the simulator under a burst-aware policy
// whose Corrector is the learning agent.
package rltrain
