package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for the launchwarden binary: run
// with LAUNCHWARDEN_TEST_MAIN=1, it is main. Tests use that to run
// subcommands as child processes (and kill them) without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("LAUNCHWARDEN_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}
