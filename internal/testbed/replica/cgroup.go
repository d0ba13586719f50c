package replica

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CPULimiter holds replicas to a fixed CPU share. Two implementations: a cgroup quota
// (exact: a replica gets its share and no more, so N replicas have N shares of capacity
// while the machine has cores to spare) and none (each replica runs with GOMAXPROCS=1 and
// all replicas share the machine's cores, so capacity stops growing at about NumCPU
// replicas).
type CPULimiter interface {
	// Kind is "cgroup-v1", "cgroup-v2" or "gomaxprocs".
	Kind() string
	// Attach puts process pid under a fresh limit named name.
	Attach(name string, pid int) error
	// Release removes the limit of name; its process must have exited.
	Release(name string) error
	// Close removes every group it made.
	Close() error
}

// cgroupV1 uses the v1 cpu controller: a parent group per manager, a child per replica with
// cpu.cfs_quota_us / cpu.cfs_period_us.
type cgroupV1 struct {
	parent          string
	quotaUS, period int64
	book            throttleBook
}

// cgroupV2 uses cpu.max in a unified hierarchy mounted at root.
type cgroupV2 struct {
	parent          string
	quotaUS, period int64
	book            throttleBook
}

type noLimit struct{}

func (noLimit) Kind() string             { return "gomaxprocs" }
func (noLimit) Attach(string, int) error { return nil }
func (noLimit) Release(string) error     { return nil }
func (noLimit) Close() error             { return nil }

// cgroupRoot is where cgroup hierarchies are mounted; a variable so tests can point it at a
// scratch directory.
var cgroupRoot = "/sys/fs/cgroup"

// NewCPULimiter returns a cgroup limiter giving each replica share cores over period, if a
// cpu controller is writable here, and otherwise the GOMAXPROCS fallback together with the
// reason the cgroup could not be used.
func NewCPULimiter(share float64, period time.Duration) (CPULimiter, error) {
	if !(share > 0) || share > 64 {
		return noLimit{}, fmt.Errorf("cpu share %g out of range (0, 64] cores", share)
	}
	if period < time.Millisecond || period > time.Second {
		return noLimit{}, fmt.Errorf("cfs period %s out of range [1ms, 1s]", period)
	}
	periodUS := period.Microseconds()
	quotaUS := int64(share * float64(periodUS))
	if quotaUS < 1000 {
		// The kernel refuses quotas under 1 ms.
		return noLimit{}, fmt.Errorf("cpu share %g of a %s period is a quota under the kernel's 1 ms minimum", share, period)
	}
	name := fmt.Sprintf("%s%d-%d", groupPrefix, os.Getpid(), time.Now().UnixNano()%1e9)
	var errs []error
	for _, dir := range []string{filepath.Join(cgroupRoot, "cpu"), filepath.Join(cgroupRoot, "cpu,cpuacct"), cgroupRoot} {
		SweepStale(dir, groupPrefix)
	}
	for _, dir := range []string{filepath.Join(cgroupRoot, "cpu"), filepath.Join(cgroupRoot, "cpu,cpuacct")} {
		if _, err := os.Stat(filepath.Join(dir, "cpu.cfs_quota_us")); err != nil {
			continue
		}
		parent := filepath.Join(dir, name)
		if err := os.Mkdir(parent, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("cgroup v1 %s: %w", dir, err))
			continue
		}
		return &cgroupV1{parent: parent, quotaUS: quotaUS, period: periodUS}, nil
	}
	if ctl, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil && hasWord(string(ctl), "cpu") {
		parent := filepath.Join(cgroupRoot, name)
		if err := os.Mkdir(parent, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("cgroup v2: %w", err))
		} else if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+cpu"), 0); err != nil {
			_ = os.Remove(parent)
			errs = append(errs, fmt.Errorf("cgroup v2: enable cpu controller: %w", err))
		} else {
			return &cgroupV2{parent: parent, quotaUS: quotaUS, period: periodUS, book: throttleBook{v2: true}}, nil
		}
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("no cgroup cpu controller found under "+cgroupRoot))
	}
	return noLimit{}, errors.Join(errs...)
}

// groupPrefix starts the name of every cgroup (and scratch folder) a testbed makes; the
// owner's pid follows, so leftovers of a killed run can be recognised.
const groupPrefix = "bascaler-testbed-"

// SweepStale removes entries of dir named prefix<pid>-... whose process no longer exists:
// what a testbed killed with SIGKILL leaves behind (its replicas die with it through
// Pdeathsig, but it cannot remove its cgroups or scratch folder). Cgroup directories are
// removed bottom-up; a group that still holds a task stays.
func SweepStale(dir, prefix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", pidStr)); err == nil {
			continue // its owner still runs
		}
		path := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(path, "cgroup.procs")); err == nil {
			_ = closeParent(path)
		} else {
			_ = os.RemoveAll(path)
		}
	}
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

func (c *cgroupV1) Kind() string { return "cgroup-v1" }

func (c *cgroupV1) Attach(name string, pid int) error {
	dir := filepath.Join(c.parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return fmt.Errorf("cgroup %s: %w", dir, err)
	}
	// The period must be set before a quota that would be invalid for the old period.
	for _, kv := range [][2]string{
		{"cpu.cfs_period_us", strconv.FormatInt(c.period, 10)},
		{"cpu.cfs_quota_us", strconv.FormatInt(c.quotaUS, 10)},
		{"cgroup.procs", strconv.Itoa(pid)},
	} {
		if err := os.WriteFile(filepath.Join(dir, kv[0]), []byte(kv[1]), 0); err != nil {
			return fmt.Errorf("cgroup %s: write %s=%s: %w", dir, kv[0], kv[1], err)
		}
	}
	return nil
}

func (c *cgroupV1) Release(name string) error {
	dir := filepath.Join(c.parent, name)
	c.book.release(dir)
	return rmdirRetry(dir)
}

func (c *cgroupV1) Throttling() (Throttling, error) { return c.book.total(c.parent) }

func (c *cgroupV1) Close() error { return closeParent(c.parent) }

func (c *cgroupV2) Kind() string { return "cgroup-v2" }

func (c *cgroupV2) Attach(name string, pid int) error {
	dir := filepath.Join(c.parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return fmt.Errorf("cgroup %s: %w", dir, err)
	}
	for _, kv := range [][2]string{
		{"cpu.max", fmt.Sprintf("%d %d", c.quotaUS, c.period)},
		{"cgroup.procs", strconv.Itoa(pid)},
	} {
		if err := os.WriteFile(filepath.Join(dir, kv[0]), []byte(kv[1]), 0); err != nil {
			return fmt.Errorf("cgroup %s: write %s=%s: %w", dir, kv[0], kv[1], err)
		}
	}
	return nil
}

func (c *cgroupV2) Release(name string) error {
	dir := filepath.Join(c.parent, name)
	c.book.release(dir)
	return rmdirRetry(dir)
}

func (c *cgroupV2) Throttling() (Throttling, error) { return c.book.total(c.parent) }

func (c *cgroupV2) Close() error { return closeParent(c.parent) }

// rmdirRetry removes a cgroup directory. The kernel refuses while the group still lists a
// task, which lasts a moment after the process was reaped; a short retry covers that.
func rmdirRetry(dir string) error {
	var err error
	for range 50 {
		if err = os.Remove(dir); err == nil || os.IsNotExist(err) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}

func closeParent(parent string) error {
	entries, _ := os.ReadDir(parent)
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			if err := rmdirRetry(filepath.Join(parent, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := rmdirRetry(parent); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
