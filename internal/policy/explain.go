package policy

import (
	"strconv"
	"strings"
)

// String renders an explanation on one line, e.g.
// "normal: cpu above target (metric 0.91, target 0.7) -> 6, limited by scale-up rate".
func (e Explanation) String() string {
	var b strings.Builder
	if e.Mode != ModeUnset {
		b.WriteString(e.Mode.String())
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	if e.Metric != 0 || e.Target != 0 {
		b.WriteString(" (metric ")
		b.WriteString(strconv.FormatFloat(e.Metric, 'g', 4, 64))
		b.WriteString(", target ")
		b.WriteString(strconv.FormatFloat(e.Target, 'g', 4, 64))
		b.WriteString(")")
	}
	b.WriteString(" -> ")
	b.WriteString(strconv.Itoa(e.Raw))
	if e.Limit != "" {
		b.WriteString(", limited by ")
		b.WriteString(e.Limit)
	}
	for _, kv := range e.Values {
		b.WriteString("; ")
		b.WriteString(kv.Key)
		b.WriteString("=")
		b.WriteString(strconv.FormatFloat(kv.Value, 'g', 5, 64))
	}
	return b.String()
}
