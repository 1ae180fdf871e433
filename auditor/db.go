package auditor

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"swiftbox/ring"
	"swiftbox/storage/db"
)

// Databases is the container or account auditor: it opens every database
// and checks it (bbolt's page check and swiftbox's row invariants),
// quarantining those that fail, but never the last good replica.
type Databases struct {
	Kind    string // db.KindContainers or db.KindAccounts
	Store   *db.Store
	Devices func() []string
	// Ring returns the ring of Kind and Local reports whether one of its
	// devices is this box's: a corrupt database is quarantined only when
	// another replica (a primary of the ring, or a copy on another local
	// device) checks good. Replicas on other boxes cannot be checked from
	// here and do not count.
	Ring  func() *ring.Ring
	Local func(*ring.Device) bool
	Log   *slog.Logger
	// OnPass receives each pass's summary, OnFile each database's result:
	// "passed", "quarantined" or "error" (a check that could not run, or a
	// corrupt last replica kept).
	OnPass func(Stats)
	OnFile func(result string)
}

// RunOnce checks every database of Kind on every device once.
func (d *Databases) RunOnce(ctx context.Context) Stats {
	st := Stats{Start: time.Now()}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "auditor")
	for _, dev := range d.Devices() {
		files, err := d.Store.ListFiles(d.Kind, dev)
		if err != nil {
			log.Warn("listing databases", "kind", d.Kind, "device", dev, "err", err)
			st.Errors++
			continue
		}
		for _, f := range files {
			if ctx.Err() != nil {
				break
			}
			st.Files++
			result := d.auditOne(f, &st, log)
			if d.OnFile != nil {
				d.OnFile(result)
			}
		}
	}
	st.End = time.Now()
	lvl := slog.LevelDebug
	if st.Quarantined+st.Errors+st.Kept > 0 {
		lvl = slog.LevelInfo
	}
	log.Log(ctx, lvl, "database audit pass done", "kind", d.Kind, "databases", st.Files, "quarantined", st.Quarantined,
		"kept_last_replica", st.Kept, "errors", st.Errors, "duration", st.Duration().Round(time.Millisecond))
	if d.OnPass != nil {
		d.OnPass(st)
	}
	return st
}

// auditOne checks f and has it quarantined if it is corrupt (Quarantine
// keeps it if no other replica is good or its fenced re-check passes),
// returning the result for OnFile.
func (d *Databases) auditOne(f db.File, st *Stats, log *slog.Logger) string {
	err := d.Store.Check(f)
	if err == nil || errors.Is(err, db.ErrNotFound) {
		return "passed"
	}
	if !errors.Is(err, db.ErrCorrupt) {
		log.Warn("checking database", "db", f.Path, "err", err)
		st.Errors++
		return "error"
	}
	switch qerr := d.Store.Quarantine(f, d.replicas(f)); {
	case qerr == nil:
		st.Quarantined++
		log.Warn("quarantined database", "db", f.Path, "reason", err)
		return "quarantined"
	case errors.Is(qerr, db.ErrLastReplica):
		// Quarantining it would leave no copy at all: keep serving what
		// can still be read, and tell the operator.
		log.Error("corrupt database is its last replica; NOT quarantined, restore it by hand",
			"db", f.Path, "reason", err)
		st.Kept++
		return "error"
	case errors.Is(qerr, db.ErrHealthy):
		log.Warn("database passed its re-check with writers held off; kept", "db", f.Path, "first_error", err)
		return "passed"
	default:
		log.Error("quarantining database", "db", f.Path, "err", qerr)
		st.Errors++
		return "error"
	}
}

// replicas are f's other possible copies on this box: on the local
// primaries of f's partition and on every other local device (a handoff
// copy, which the replicator pushes to the primaries).
func (d *Databases) replicas(f db.File) []db.File {
	var devs []string
	if d.Ring != nil {
		if r := d.Ring(); r != nil && f.Part < r.PartitionCount() {
			for _, n := range r.PrimaryNodes(f.Part) {
				if d.Local == nil || d.Local(n) {
					devs = append(devs, n.Device)
				}
			}
		}
	}
	devs = append(devs, d.Devices()...)
	seen := map[string]bool{f.Device: true}
	var out []db.File
	for _, dev := range devs {
		if !seen[dev] {
			seen[dev] = true
			out = append(out, d.Store.FileOn(f, dev))
		}
	}
	return out
}
