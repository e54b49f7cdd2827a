// Command ghlgate-bench runs ghlgate's overhead benchmark (issue 7): see
// package bench. Run it from the repository root:
//
//	go run ./bench/cmd/ghlgate-bench
package main

import (
	"os"

	"github.com/rankr/ghlgate/bench"
)

func main() { os.Exit(bench.Main(os.Args[1:], os.Stdout, os.Stderr)) }
