//go:build !race

package proxylogging

const raceEnabled = false
