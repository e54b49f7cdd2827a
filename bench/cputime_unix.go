//go:build unix

package bench

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) this process has used so
// far; zero where getrusage is unavailable. The load generator, the fake
// upstream and both proxies run in this one process, so the CPU a round
// uses divided by its requests is the whole path's cost of one request
// through that target: the difference between two targets is what one
// proxy costs more than the other, whatever else shares the machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
