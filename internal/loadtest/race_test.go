//go:build race

package loadtest

// The race detector makes every request several times dearer: the fault
// test then runs fewer requests at a time.
const raceEnabled = true
