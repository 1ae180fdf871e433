package storage

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// Failpoints let crash tests kill the process at an exact moment of the
// write path, as a power cut or kill -9 would, instead of hoping a random
// kill lands there. SWIFTBOX_FAILPOINT=<name>:<n> kills the process with
// SIGKILL the nth time the named point is passed. Unset, a point costs one
// load of a nil pointer.
//
// Points:
//
//	object-renamed     an object's .data, .ts or .meta was just renamed
//	                   into its hash directory (nothing after it ran)
//	container-created  a container database replica took a PUT (created
//	                   or re-created it, or moved its put timestamp)
//	container-deleted  a container database replica took a DELETE
type failpoint struct {
	name string
	left atomic.Int64
}

var armedFailpoint = parseFailpoint(os.Getenv("SWIFTBOX_FAILPOINT"))

func parseFailpoint(v string) *failpoint {
	name, n, ok := strings.Cut(v, ":")
	count, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || count < 1 {
		return nil
	}
	fp := &failpoint{name: name}
	fp.left.Store(count)
	return fp
}

// Failpoint is passFailpoint for the other storage packages.
func Failpoint(name string) { passFailpoint(name) }

// passFailpoint kills the process if name is the armed point and its count
// is reached.
func passFailpoint(name string) {
	fp := armedFailpoint
	if fp == nil || fp.name != name {
		return
	}
	if fp.left.Add(-1) == 0 {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never returns: nothing after the point may run
	}
}
