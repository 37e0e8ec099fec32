package main

import (
	"testing"
	"time"

	"github.com/launchwarden/launchwarden/cloud/ec2sim"
	"github.com/launchwarden/launchwarden/internal/testenv"
)

// The account (the emulator's default) and region of the command tests.
const (
	serveAccount = testenv.Account
	serveRegion  = testenv.Region
)

// startEmulator starts testenv's world with the emulator's clock at start:
// the emulator and a GitHub keys server on loopback, the AWS SDK's
// environment pointed at them, and the state key in the environment under
// both testenv.StateKeyEnv and the example config repo's variable.
func startEmulator(t *testing.T, start time.Time) (sim *ec2sim.Sim, endpoint, keysURL string) {
	t.Helper()
	e := testenv.New(t, testenv.Options{Start: start})
	t.Setenv(exampleStateKeyEnv, testenv.StateKey)
	return e.Sim, e.Endpoint, e.KeysURL
}
