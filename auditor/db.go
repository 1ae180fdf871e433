package auditor

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"swiftbox/storage/db"
)

// Databases is the container or account auditor: it opens every database
// and checks it (bbolt's page check and swiftbox's row invariants),
// quarantining those that fail.
type Databases struct {
	Kind    string // db.KindContainers or db.KindAccounts
	Store   *db.Store
	Devices func() []string
	Log     *slog.Logger
	OnPass  func(Stats)
}

// RunOnce checks every database of Kind on every device once.
func (d *Databases) RunOnce(ctx context.Context) Stats {
	st := Stats{Start: time.Now()}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	for _, dev := range d.Devices() {
		files, err := d.Store.ListFiles(d.Kind, dev)
		if err != nil {
			log.Warn("auditor: listing databases", "kind", d.Kind, "device", dev, "err", err)
			st.Errors++
			continue
		}
		for _, f := range files {
			if ctx.Err() != nil {
				break
			}
			st.Files++
			err := d.Store.Check(f.Path)
			if err == nil || errors.Is(err, db.ErrNotFound) {
				continue
			}
			if !errors.Is(err, db.ErrCorrupt) {
				log.Warn("auditor: checking database", "db", f.Path, "err", err)
				st.Errors++
				continue
			}
			if qerr := d.Store.Quarantine(f); qerr != nil {
				log.Error("auditor: quarantining database", "db", f.Path, "err", qerr)
				st.Errors++
				continue
			}
			st.Quarantined++
			log.Warn("auditor: quarantined database", "db", f.Path, "reason", err)
		}
	}
	st.End = time.Now()
	lvl := slog.LevelDebug
	if st.Quarantined+st.Errors > 0 {
		lvl = slog.LevelInfo
	}
	log.Log(ctx, lvl, "database audit pass done", "kind", d.Kind, "databases", st.Files, "quarantined", st.Quarantined,
		"errors", st.Errors, "duration", st.Duration().Round(time.Millisecond))
	if d.OnPass != nil {
		d.OnPass(st)
	}
	return st
}
