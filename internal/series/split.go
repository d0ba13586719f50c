package series

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// DefaultSplit is the chronological train/validation/test split used unless told otherwise.
var DefaultSplit = [3]float64{0.6, 0.2, 0.2}

// Split cuts s chronologically into train, validation and test parts holding the given
// fractions of its points (oldest first: train, then validation, then test). Boundaries are
// rounded to the nearest point. Fractions must be non-negative and sum to 1 (within 1e-9);
// a part with fraction 0 is empty, and every part with a positive fraction must receive at
// least one point. The parts share s's storage (see Series.Slice) and keep the burst labels
// that fall into them, re-indexed.
func Split(s Series, fractions [3]float64) (train, val, test Series, err error) {
	if err := checkFractions(fractions); err != nil {
		return Series{}, Series{}, Series{}, fmt.Errorf("split %s: %w", s.Name, err)
	}
	n := len(s.Values)
	b1 := int(math.Round(fractions[0] * float64(n)))
	b2 := int(math.Round((fractions[0] + fractions[1]) * float64(n)))
	b1 = min(max(b1, 0), n)
	b2 = min(max(b2, b1), n)
	bounds := [4]int{0, b1, b2, n}
	names := [3]string{"train", "validation", "test"}
	for i, f := range fractions {
		if f > 0 && bounds[i+1] == bounds[i] {
			return Series{}, Series{}, Series{}, fmt.Errorf("split %s: %s fraction %g of %d points rounds to 0 points", s.Name, names[i], f, n)
		}
	}
	return s.Slice(0, b1), s.Slice(b1, b2), s.Slice(b2, n), nil
}

// ParseSplit reads "train,val,test" fractions such as "0.6,0.2,0.2".
func ParseSplit(text string) ([3]float64, error) {
	var f [3]float64
	parts := strings.Split(text, ",")
	if len(parts) != 3 {
		return f, fmt.Errorf("split %q: need 3 comma-separated fractions train,val,test, found %d", text, len(parts))
	}
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return f, fmt.Errorf("split %q: fraction %d %q is not a number", text, i+1, strings.TrimSpace(p))
		}
		f[i] = v
	}
	if err := checkFractions(f); err != nil {
		return f, fmt.Errorf("split %q: %w", text, err)
	}
	return f, nil
}

func checkFractions(f [3]float64) error {
	sum := 0.0
	for i, v := range f {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return fmt.Errorf("fraction %d is %g, must be a finite number >= 0", i+1, v)
		}
		sum += v
	}
	if math.Abs(sum-1) > 1e-9 {
		return fmt.Errorf("fractions sum to %.10g, must sum to 1", sum)
	}
	return nil
}
