//go:build race

package projects

// raceEnabled: the race detector empties sync.Pools at random, so regexp
// and fmt allocate far more than they do in a normal build.
const raceEnabled = true
