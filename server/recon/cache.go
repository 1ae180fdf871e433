// Package recon answers Swift's recon middleware requests (/recon/…) so
// swift-recon reports on a swiftbox node, and keeps the daemons' recon
// cache files (object.recon, container.recon, …) in Swift's format.
package recon

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// Cache is a directory of Swift recon cache files: one JSON object per
// file, keys merged in by Dump as Swift's dump_recon_cache does.
type Cache struct {
	Dir string
	Log *slog.Logger
	mu  sync.Mutex
}

// File names of the recon cache, as in swift.common.recon.
const (
	ObjectFile    = "object.recon"
	ContainerFile = "container.recon"
	AccountFile   = "account.recon"
	DriveFile     = "drive.recon"
	RelinkerFile  = "relinker.recon"
)

func fileFor(kind string) string {
	switch kind {
	case "object", "container", "account", "drive", "relinker":
		return kind + ".recon"
	}
	return kind
}

// Dump merges entries into kind's file ("object" → object.recon): a map
// value is merged key by key into the map there, an empty map removes the
// key, anything else replaces it. Errors are logged, not returned: recon
// data is advisory.
func (c *Cache) Dump(kind string, entries map[string]any) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	path := filepath.Join(c.Dir, fileFor(kind))
	cur, _ := readJSON(path)
	if cur == nil {
		cur = map[string]any{}
	}
	for k, v := range entries {
		putEntry(cur, k, v)
	}
	if err := writeJSON(path, cur); err != nil && c.Log != nil {
		c.Log.Warn("recon cache: write failed", "path", path, "err", err)
	}
}

// Load returns kind's file ("object" → object.recon); a missing file is
// empty.
func (c *Cache) Load(kind string) (map[string]any, error) {
	m, err := readJSON(filepath.Join(c.Dir, fileFor(kind)))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]any{}, nil
	}
	return m, err
}

func putEntry(cur map[string]any, key string, v any) {
	m, ok := v.(map[string]any)
	if !ok {
		cur[key] = v
		return
	}
	if len(m) == 0 {
		delete(cur, key)
		return
	}
	dst, ok := cur[key].(map[string]any)
	if !ok {
		dst = map[string]any{}
		cur[key] = dst
	}
	for k, sub := range m {
		if sm, ok := sub.(map[string]any); ok && len(sm) == 0 {
			delete(dst, k)
			continue
		}
		dst[k] = sub
	}
}

func readJSON(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// writeJSON replaces path atomically (rename), without fsync as Swift:
// losing a recon update in a crash only makes the data a pass older.
func writeJSON(path string, m map[string]any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".recon*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(append(raw, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
