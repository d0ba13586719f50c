package series

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Write writes s in the trace CSV format that Read accepts: the header "timestamp,value",
// then one row per point with an RFC3339 UTC timestamp (fractional seconds only when the
// time has them) and the value in the shortest decimal form that reads back exactly.
// Burst labels are not written. An invalid series (see Validate) is refused rather than
// written as a file that Read would reject.
func Write(w io.Writer, s Series) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("write series: %w", err)
	}
	for _, t := range []time.Time{s.Time(0), s.Time(s.Len() - 1)} {
		if y := t.UTC().Year(); y < 0 || y > 9999 {
			return fmt.Errorf("write series %s: time %s is outside RFC3339's years 0000-9999", s.Name, t)
		}
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(Header + "\n")
	buf := make([]byte, 0, 64)
	for i, v := range s.Values {
		buf = s.Time(i).UTC().AppendFormat(buf[:0], time.RFC3339Nano)
		buf = append(buf, ',')
		buf = strconv.AppendFloat(buf, v, 'f', -1, 64)
		buf = append(buf, '\n')
		bw.Write(buf) // bufio.Writer keeps the first error; Flush reports it
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write series %s: %w", s.Name, err)
	}
	return nil
}
