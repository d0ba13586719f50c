// Package replica starts, probes and stops serve-fft processes on loopback, each in its own
// process group and, where the cgroup cpu controller is writable, its own CPU quota.
package replica
