package rl

import "fmt"

// Buffer is a rollout: transitions in the order they were experienced, possibly spanning
// several episodes. Done marks the last transition of an episode (its successor, if any,
// starts a new one), so GAE does not bootstrap across episode boundaries.
type Buffer struct {
	Obs     [][]float64 // normalised states
	Actions []int
	LogP    []float64
	Values  []float64
	Rewards []float64
	Done    []bool

	// Filled by Finish.
	Advantages []float64
	Returns    []float64
}

// Add appends a transition taken at step s with reward r; done ends the episode after it.
func (b *Buffer) Add(s Step, r float64, done bool) {
	b.Obs = append(b.Obs, s.Obs)
	b.Actions = append(b.Actions, s.Action)
	b.LogP = append(b.LogP, s.LogP)
	b.Values = append(b.Values, s.Value)
	b.Rewards = append(b.Rewards, r)
	b.Done = append(b.Done, done)
}

// Len is the number of transitions.
func (b *Buffer) Len() int { return len(b.Actions) }

// Reset empties the buffer, keeping its storage.
func (b *Buffer) Reset() {
	b.Obs, b.Actions, b.LogP, b.Values = b.Obs[:0], b.Actions[:0], b.LogP[:0], b.Values[:0]
	b.Rewards, b.Done, b.Advantages, b.Returns = b.Rewards[:0], b.Done[:0], b.Advantages[:0], b.Returns[:0]
}

// Finish computes generalised advantage estimates (Schulman et al., 2016):
//
//	δ_t = r_t + γ·V(s_{t+1})·(1−done_t) − V(s_t);   A_t = δ_t + γλ·(1−done_t)·A_{t+1}
//
// and the value targets R_t = A_t + V(s_t). lastValue is V of the state after the final
// transition when the buffer ends mid-episode (ignored when the last transition is done).
func (b *Buffer) Finish(gamma, lambda, lastValue float64) error {
	n := b.Len()
	if n == 0 {
		return fmt.Errorf("rl: empty rollout")
	}
	b.Advantages = append(b.Advantages[:0], make([]float64, n)...)
	b.Returns = append(b.Returns[:0], make([]float64, n)...)
	gae := 0.0
	for t := n - 1; t >= 0; t-- {
		next := lastValue
		if t+1 < n {
			next = b.Values[t+1]
		}
		notDone := 1.0
		if b.Done[t] {
			notDone = 0
		}
		delta := b.Rewards[t] + gamma*next*notDone - b.Values[t]
		gae = delta + gamma*lambda*notDone*gae
		b.Advantages[t] = gae
		b.Returns[t] = gae + b.Values[t]
	}
	return nil
}
