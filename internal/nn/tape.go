package nn

import "fmt"

// Tape records the backward step of every op applied through it, so Backward can run them
// in reverse. A nil *Tape is valid: ops then allocate on the heap and record nothing, which
// is what inference wants.
//
// A Tape also owns an arena from which it allocates its results; after Reset every tensor
// it produced is invalid. Reusing the arena between training steps removes almost all
// garbage: a training step otherwise allocates thousands of short-lived matrices.
type Tape struct {
	infer  bool // arena only: record nothing, allocate no gradients
	backs  []func()
	chunks [][]float64
	chunk  int // index of the chunk being filled
	off    int // fill offset in chunks[chunk]
}

// NewTape returns an empty recording tape.
func NewTape() *Tape { return &Tape{} }

// NewInferenceTape returns a tape that records nothing and only lends its arena: a forward
// pass through it allocates nothing once the arena has grown, which is what a
// latency-bound Predict wants. Backward on it is an error.
func NewInferenceTape() *Tape { return &Tape{infer: true} }

// Reset forgets the recorded ops and recycles the arena.
func (tp *Tape) Reset() {
	clear(tp.backs) // drop closure references so the GC can reclaim captured tensors
	tp.backs = tp.backs[:0]
	tp.chunk, tp.off = 0, 0
}

const chunkSize = 1 << 16

// alloc returns a zeroed slice of n values, from the arena when tp is non-nil.
func (tp *Tape) alloc(n int) []float64 {
	s := tp.allocDirty(n)
	if tp != nil {
		clear(s)
	}
	return s
}

// allocDirty is alloc without zeroing recycled arena memory, for outputs that the op
// overwrites completely (clearing was 8% of an informer training step).
func (tp *Tape) allocDirty(n int) []float64 {
	if tp == nil {
		return make([]float64, n)
	}
	for {
		if tp.chunk == len(tp.chunks) {
			tp.chunks = append(tp.chunks, make([]float64, max(n, chunkSize)))
		}
		c := tp.chunks[tp.chunk]
		if tp.off+n <= len(c) {
			s := c[tp.off : tp.off+n : tp.off+n]
			tp.off += n
			return s
		}
		if tp.off == 0 { // too small even when empty: replace it
			tp.chunks[tp.chunk] = make([]float64, max(n, chunkSize))
			continue
		}
		tp.chunk++
		tp.off = 0
	}
}

// Const returns a constant tensor holding a copy of data (arena-backed on a tape).
func (tp *Tape) Const(rows, cols int, data []float64) *Tensor {
	if len(data) != rows*cols {
		panic(fmt.Sprintf("nn: Const %dx%d with %d values", rows, cols, len(data)))
	}
	d := tp.allocDirty(rows * cols)
	copy(d, data)
	return &Tensor{Rows: rows, Cols: cols, Data: d}
}

// result allocates the zeroed output of an op; it gets a gradient buffer when the tape
// records and any input needs a gradient.
func (tp *Tape) result(rows, cols int, inputs ...*Tensor) *Tensor {
	out := tp.resultDirty(rows, cols, inputs...)
	if tp != nil {
		clear(out.Data)
	}
	return out
}

// resultDirty is result for ops that write every output value: its Data is not zeroed.
// Gradients are always zeroed, since backward steps accumulate into them.
func (tp *Tape) resultDirty(rows, cols int, inputs ...*Tensor) *Tensor {
	out := &Tensor{Rows: rows, Cols: cols, Data: tp.allocDirty(rows * cols)}
	if tp != nil && !tp.infer {
		for _, in := range inputs {
			if in.needsGrad() {
				out.Grad = tp.alloc(rows * cols)
				break
			}
		}
	}
	return out
}

// record adds a backward step; it is skipped when out needs no gradient.
func (tp *Tape) record(out *Tensor, back func()) {
	if tp != nil && out.Grad != nil {
		tp.backs = append(tp.backs, back)
	}
}

// Backward seeds d(loss)/d(loss) = 1 and runs the recorded backward steps in reverse,
// accumulating gradients into every parameter that contributed to loss.
func (tp *Tape) Backward(loss *Tensor) error {
	if tp == nil || tp.infer {
		return fmt.Errorf("nn: Backward on a tape that does not record")
	}
	if loss.Rows != 1 || loss.Cols != 1 {
		return fmt.Errorf("nn: Backward needs a 1x1 loss, got %s", loss.Shape())
	}
	if loss.Grad == nil {
		return fmt.Errorf("nn: loss does not depend on any parameter")
	}
	loss.Grad[0] = 1
	for i := len(tp.backs) - 1; i >= 0; i-- {
		tp.backs[i]()
	}
	return nil
}

func sameShape(op string, a, b *Tensor) {
	if a.Rows != b.Rows || a.Cols != b.Cols {
		panic(fmt.Sprintf("nn: %s shape mismatch %s vs %s", op, a.Shape(), b.Shape()))
	}
}
