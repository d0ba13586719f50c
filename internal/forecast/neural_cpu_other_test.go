//go:build !unix

package forecast

import "time"

// processCPU is unavailable here; fit benchmarks then report 0 CPU seconds.
func processCPU() time.Duration { return 0 }
