//go:build !unix

package bench

import "time"

// processCPU is unavailable here: the figures show no CPU per request.
func processCPU() time.Duration { return 0 }
