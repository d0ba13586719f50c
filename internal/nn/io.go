package nn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// Parameter file format, version 1 (little endian):
//
//	magic "BASCALNN" | uint32 version | uint32 count |
//	count × ( uint32 len(name) | name | uint32 rows | uint32 cols | rows·cols float64 ) |
//	uint32 CRC-32 (IEEE) of everything before it
//
// The architecture lives in code, so loading checks names and shapes against the model
// being filled, in order; the checksum catches truncation and bit rot.
const (
	paramMagic   = "BASCALNN"
	paramVersion = 1
	maxNameLen   = 1 << 10
	maxParamLen  = 1 << 26
)

// SaveParams writes params in the versioned binary format.
func SaveParams(w io.Writer, params []*Tensor) error {
	var b bytes.Buffer
	b.WriteString(paramMagic)
	le := binary.LittleEndian
	b.Write(le.AppendUint32(nil, paramVersion))
	b.Write(le.AppendUint32(nil, uint32(len(params))))
	for _, p := range params {
		b.Write(le.AppendUint32(nil, uint32(len(p.Name))))
		b.WriteString(p.Name)
		b.Write(le.AppendUint32(nil, uint32(p.Rows)))
		b.Write(le.AppendUint32(nil, uint32(p.Cols)))
		buf := make([]byte, 8*p.Len())
		for i, v := range p.Data {
			le.PutUint64(buf[8*i:], math.Float64bits(v))
		}
		b.Write(buf)
	}
	b.Write(le.AppendUint32(nil, crc32.ChecksumIEEE(b.Bytes())))
	_, err := w.Write(b.Bytes())
	return err
}

// LoadParams reads a parameter file into params, which must have the same names and shapes
// in the same order. On any error params are left unchanged.
func LoadParams(r io.Reader, params []*Tensor) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read parameters: %w", err)
	}
	if len(raw) < len(paramMagic)+12 || string(raw[:len(paramMagic)]) != paramMagic {
		return errors.New("not an nn parameter file (bad magic or too short)")
	}
	body, sum := raw[:len(raw)-4], binary.LittleEndian.Uint32(raw[len(raw)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return errors.New("parameter file is truncated or corrupted (checksum mismatch)")
	}
	d := decoder{buf: body[len(paramMagic):]}
	if v := d.u32(); v != paramVersion {
		return fmt.Errorf("parameter file version %d, this build reads version %d", v, paramVersion)
	}
	n := int(d.u32())
	if d.err == nil && n != len(params) {
		return fmt.Errorf("parameter file holds %d tensors, the model has %d (different architecture?)", n, len(params))
	}
	vals := make([][]float64, len(params))
	for i, p := range params {
		nl := d.u32()
		if nl > maxNameLen {
			return fmt.Errorf("tensor %d: name length %d is implausible", i, nl)
		}
		name := string(d.bytes(int(nl)))
		rows, cols := int(d.u32()), int(d.u32())
		if d.err != nil {
			return fmt.Errorf("tensor %d: %w", i, d.err)
		}
		if name != p.Name {
			return fmt.Errorf("tensor %d is %q in the file, the model expects %q", i, name, p.Name)
		}
		if rows != p.Rows || cols != p.Cols {
			return fmt.Errorf("tensor %d (%q): file has shape %dx%d, the model expects %s", i, name, rows, cols, p.Shape())
		}
		if rows*cols > maxParamLen {
			return fmt.Errorf("tensor %d (%q): %d values is implausible", i, name, rows*cols)
		}
		raw := d.bytes(8 * rows * cols)
		if d.err != nil {
			return fmt.Errorf("tensor %d (%q): %w", i, name, d.err)
		}
		v := make([]float64, rows*cols)
		for j := range v {
			v[j] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*j:]))
			if math.IsNaN(v[j]) || math.IsInf(v[j], 0) {
				return fmt.Errorf("tensor %d (%q): value %d is %v", i, name, j, v[j])
			}
		}
		vals[i] = v
	}
	if d.err != nil {
		return d.err
	}
	if len(d.buf) != 0 {
		return fmt.Errorf("parameter file has %d unexpected trailing bytes", len(d.buf))
	}
	for i, p := range params {
		copy(p.Data, vals[i])
	}
	return nil
}

// decoder reads little-endian fields and remembers the first short read.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.buf) {
		d.err = errors.New("unexpected end of parameter data")
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) u32() uint32 {
	b := d.bytes(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}
