//go:build race

package proxylogging

// raceEnabled: the race detector allocates on its own.
const raceEnabled = true
