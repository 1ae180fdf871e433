// Package auditor finds corruption before clients do, as Swift's auditors
// and drive-audit: it reads every object and database on every device at
// a bounded rate, quarantines what fails its checks (so the replicator
// restores a good copy), and scans kernel logs for failing drives.
package auditor

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"swiftbox/replicator"
	"swiftbox/storage"
)

// Stats summarises one audit pass.
type Stats struct {
	Start, End time.Time
	// ZeroByteOnly marks the fast pass over zero-byte objects.
	ZeroByteOnly bool
	// Files and Bytes audited; Quarantined of them; Errors that stopped a
	// check (an unreadable device or directory).
	Files, Quarantined, Errors int
	Bytes                      int64
	// Kept counts corrupt databases left in place because no other good
	// replica exists (quarantining would remove the last copy).
	Kept int
}

// Duration is how long the pass took.
func (s Stats) Duration() time.Duration { return s.End.Sub(s.Start) }

// Objects is the object auditor.
type Objects struct {
	Store *storage.ObjectStore
	// Policies, if set, are the storage policies' stores to audit
	// (objects, objects-N) instead of Store alone.
	Policies []*storage.ObjectStore
	Devices  func() []string
	// FilesPerSecond and BytesPerSecond pace the full pass,
	// ZeroByteFilesPerSecond the fast one (0 = unlimited).
	FilesPerSecond, ZeroByteFilesPerSecond int
	BytesPerSecond                         int64
	Log                                    *slog.Logger
	OnPass                                 func(Stats)
	// OnFile, if set, hears of every object checked: "passed",
	// "quarantined" or "error", and the bytes read.
	OnFile func(result string, bytes int64)
}

// RunOnce audits every object on every device once. With zeroByteOnly it
// is the fast pass: metadata and size of every object, the MD5 of the
// zero-byte ones. After each partition of a full pass the partition's
// suffix hashes are recomputed from the directories, so files lost
// outside swiftbox (deleted by hand, eaten by a disk) reach the
// replicator as a difference and are restored.
func (a *Objects) RunOnce(ctx context.Context, zeroByteOnly bool) Stats {
	st := Stats{Start: time.Now(), ZeroByteOnly: zeroByteOnly}
	fps := a.FilesPerSecond
	var bytesLim *replicator.RateLimiter
	if zeroByteOnly {
		fps = a.ZeroByteFilesPerSecond
	} else {
		bytesLim = replicator.NewRateLimiter(float64(a.BytesPerSecond))
	}
	filesLim := replicator.NewRateLimiter(float64(fps))
	lim, perFile := bytesLim.Bind(ctx), filesLim.Bind(ctx)
	stores := a.Policies
	if len(stores) == 0 {
		stores = []*storage.ObjectStore{a.Store}
	}
	for _, dev := range a.Devices() {
		if err := a.Store.CheckDevice(dev); err != nil {
			a.log().Warn("skipping device", "device", dev, "err", err)
			st.Errors++
			continue
		}
		for _, store := range stores {
			a.auditDevice(ctx, store, dev, zeroByteOnly, &st, lim, perFile)
		}
	}
	st.End = time.Now()
	lvl := slog.LevelDebug
	if st.Quarantined+st.Errors > 0 || !zeroByteOnly && st.Files > 0 {
		lvl = slog.LevelInfo
	}
	a.log().Log(ctx, lvl, "object audit pass done", "zero_byte_only", zeroByteOnly, "files", st.Files, "bytes", st.Bytes,
		"quarantined", st.Quarantined, "errors", st.Errors, "duration", st.Duration().Round(time.Millisecond))
	if a.OnPass != nil {
		a.OnPass(st)
	}
	return st
}

// Run alternates fast and full passes every interval until ctx ends, as
// Swift's auditor runs its ZBF and ALL workers.
func (a *Objects) Run(ctx context.Context, interval time.Duration) {
	for {
		a.RunOnce(ctx, true)
		a.RunOnce(ctx, false)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

func (a *Objects) log() *slog.Logger {
	if a.Log == nil {
		return slog.Default().With("component", "auditor")
	}
	return a.Log.With("component", "auditor")
}

// auditDevice audits one policy's objects on dev into st.
func (a *Objects) auditDevice(ctx context.Context, store *storage.ObjectStore, dev string, zeroByteOnly bool, st *Stats, lim storage.Limiter, perFile storage.Limiter) {
	var afterPart func(int, []string)
	if !zeroByteOnly {
		afterPart = func(part int, suffixes []string) {
			if err := store.RehashPartition(dev, part, suffixes); err != nil {
				a.log().Warn("rehashing partition", "device", dev, "partition", part, "err", err)
			}
		}
	}
	err := store.WalkObjects(dev, -1, func(ref storage.HashDirRef) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if perFile != nil {
			perFile.Wait(1)
		}
		res, err := store.AuditObject(ctx, dev, ref, zeroByteOnly, lim)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		result := "passed"
		defer func() {
			if a.OnFile != nil && (res.Size >= 0 || result != "passed") {
				a.OnFile(result, res.Bytes)
			}
		}()
		if err != nil {
			a.log().Warn("checking object", "device", dev, "path", ref.Path, "err", err)
			st.Errors++
			result = "error"
			return nil
		}
		if res.Size >= 0 {
			st.Files++
		}
		st.Bytes += res.Bytes
		if res.Quarantined {
			result = "quarantined"
			st.Quarantined++
			a.log().Warn("quarantined object", "device", dev, "path", ref.Path, "reason", res.Reason)
		}
		return nil
	}, afterPart)
	if err != nil && !errors.Is(err, context.Canceled) {
		a.log().Warn("walking device", "device", dev, "err", err)
		st.Errors++
	}
}
