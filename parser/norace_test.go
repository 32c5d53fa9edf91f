//go:build !race

package parser

// raceEnabled is set when tests run with -race (tests that do a lot of
// work then do less of it).
const raceEnabled = false
