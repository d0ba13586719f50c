package nn

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

func testParams(seed uint64, hidden int) []*Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	l1, l2 := NewLinear(rng, "l1", 3, hidden), NewLinear(rng, "l2", hidden, 2)
	return append(l1.Params(), l2.Params()...)
}

func TestSaveLoadRoundTrip(t *testing.T) {
	src, dst := testParams(1, 4), testParams(2, 4)
	var buf bytes.Buffer
	if err := SaveParams(&buf, src); err != nil {
		t.Fatal(err)
	}
	if err := LoadParams(&buf, dst); err != nil {
		t.Fatal(err)
	}
	for i := range src {
		for j := range src[i].Data {
			if src[i].Data[j] != dst[i].Data[j] {
				t.Fatalf("tensor %d element %d: %v != %v", i, j, dst[i].Data[j], src[i].Data[j])
			}
		}
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	var good bytes.Buffer
	if err := SaveParams(&good, testParams(1, 4)); err != nil {
		t.Fatal(err)
	}
	raw := good.Bytes()
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)/2] ^= 0x40
	renamed := testParams(1, 4)
	renamed[2].Name = "other.W"
	var renamedFile bytes.Buffer
	_ = SaveParams(&renamedFile, renamed)
	var oneLess bytes.Buffer
	_ = SaveParams(&oneLess, testParams(1, 4)[:3])

	cases := []struct {
		name   string
		file   []byte
		target []*Tensor
		want   string
	}{
		{"empty file", nil, testParams(3, 4), "not an nn parameter file"},
		{"wrong magic", append([]byte("NOTMAGIC"), raw[8:]...), testParams(3, 4), "not an nn parameter file"},
		{"truncated", raw[:len(raw)-20], testParams(3, 4), "truncated or corrupted"},
		{"flipped bit", flipped, testParams(3, 4), "truncated or corrupted"},
		{"other architecture (shape)", raw, testParams(3, 5), "file has shape 3x4, the model expects 3x5"},
		{"other architecture (name)", renamedFile.Bytes(), testParams(3, 4), `"other.W" in the file, the model expects "l2.W"`},
		{"other architecture (count)", oneLess.Bytes(), testParams(3, 4), "holds 3 tensors, the model has 4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := append([]float64(nil), c.target[0].Data...)
			err := LoadParams(bytes.NewReader(c.file), c.target)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
			for j, v := range c.target[0].Data {
				if v != before[j] {
					t.Fatal("a failed load changed the parameters")
				}
			}
		})
	}
}
