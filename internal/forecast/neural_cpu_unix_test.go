//go:build unix

package forecast

import (
	"syscall"
	"time"
)

// processCPU is the CPU time used by the process so far, so fit benchmarks can report cost
// independently of how busy the shared machine is.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
