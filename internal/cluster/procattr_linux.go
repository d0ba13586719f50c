package cluster

import "syscall"

// sysProcAttr kills a component when the test process dies without calling Stop (a
// panicking or killed test must not leave servers behind).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
