// Package proctest helps the testbed's tests run replicas from the test binary itself and
// check that no child process outlives a test.
package proctest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/testbed/fftsvc"
)

// ServeEnv is set in a re-executed test binary that must act as `bascaler serve-fft`.
const ServeEnv = "BASCALER_TEST_SERVE_FFT"

// MaybeServe turns the current test binary into a serve-fft replica when ServeEnv is set;
// call it first in TestMain. Arguments after "serve-fft" are the service flags.
func MaybeServe() {
	if os.Getenv(ServeEnv) != "1" {
		return
	}
	args := os.Args[1:]
	for i, a := range args {
		if a == "serve-fft" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(fftsvc.Main(args, os.Stderr))
}

// Binary returns the test binary and the arguments that make it a replica; set ServeEnv
// in the environment (t.Setenv) before starting replicas.
func Binary(t testing.TB) (string, []string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(ServeEnv, "1")
	return exe, []string{"-test.run=^$", "serve-fft"}
}

// Children returns the pids of live (not zombie) processes whose parent is ppid.
func Children(ppid int) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// stat: pid (comm) state ppid ...; comm may hold spaces, so cut after the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 || fields[0] == "Z" {
			continue
		}
		if p, _ := strconv.Atoi(fields[1]); p == ppid {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			out = append(out, pid)
		}
	}
	return out
}

// Alive reports whether a process with this pid exists (and is not a zombie).
func Alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}
