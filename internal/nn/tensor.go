package nn

import "fmt"

// Tensor is a dense row-major matrix. Every value in nn is two-dimensional: a vector is a
// 1×C row, a scalar a 1×1 matrix, a batch of B samples B rows.
//
// Grad is nil for constants. Parameters (NewParam) own a persistent Grad that Backward
// accumulates into; intermediate results of a recording Tape get a Grad from the tape's arena.
type Tensor struct {
	Name       string
	Rows, Cols int
	Data       []float64
	Grad       []float64
}

// NewParam returns a zeroed trainable parameter of shape rows×cols with its own gradient.
func NewParam(name string, rows, cols int) *Tensor {
	return &Tensor{Name: name, Rows: rows, Cols: cols,
		Data: make([]float64, rows*cols), Grad: make([]float64, rows*cols)}
}

// NewConst wraps data (not copied) as a rows×cols constant that receives no gradient.
func NewConst(rows, cols int, data []float64) *Tensor {
	if len(data) != rows*cols {
		panic(fmt.Sprintf("nn: NewConst %dx%d with %d values", rows, cols, len(data)))
	}
	return &Tensor{Rows: rows, Cols: cols, Data: data}
}

// Row returns row i as a slice of Data.
func (t *Tensor) Row(i int) []float64 { return t.Data[i*t.Cols : (i+1)*t.Cols] }

// At returns element (i, j).
func (t *Tensor) At(i, j int) float64 { return t.Data[i*t.Cols+j] }

// Len is Rows*Cols.
func (t *Tensor) Len() int { return t.Rows * t.Cols }

// Shape formats the shape for error messages.
func (t *Tensor) Shape() string { return fmt.Sprintf("%dx%d", t.Rows, t.Cols) }

func (t *Tensor) needsGrad() bool { return t.Grad != nil }

// ZeroGrad clears the gradients of params (call after each optimiser step).
func ZeroGrad(params []*Tensor) {
	for _, p := range params {
		clear(p.Grad)
	}
}

// CopyData copies the values of src into dst pairwise (same shapes); used to snapshot and
// restore the best weights during early stopping.
func CopyData(dst, src []*Tensor) {
	for i := range dst {
		copy(dst[i].Data, src[i].Data)
	}
}

// CloneParams returns deep copies of params (data only; gradients fresh and zero).
func CloneParams(params []*Tensor) []*Tensor {
	out := make([]*Tensor, len(params))
	for i, p := range params {
		c := NewParam(p.Name, p.Rows, p.Cols)
		copy(c.Data, p.Data)
		out[i] = c
	}
	return out
}

// CountParams is the number of scalar weights in params.
func CountParams(params []*Tensor) int {
	n := 0
	for _, p := range params {
		n += p.Len()
	}
	return n
}
