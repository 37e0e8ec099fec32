//go:build !race

package projects

const raceEnabled = false
