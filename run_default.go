package main

import "fmt"

// runDefault handles a command line with no subcommand. Until the hunting
// screen exists it only reports what is available.
func runDefault(e *env, args []string) int {
	if len(args) > 0 {
		return usageError(e, "", fmt.Errorf("unknown command %q", args[0]))
	}
	usage(e.stdout)
	return exitOK
}
