package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"swiftbox/ring"
	"swiftbox/storage/pickle"
	"swiftbox/storage/timestamp"
)

// AsyncPending is a container update the object server could not deliver
// (Swift's async_pending pickle): Op is "PUT" or "DELETE", Headers the
// headers of the container update (X-Timestamp, X-Size, X-Content-Type,
// X-Etag, ...). ContainerPath, when set, redirects the update to a shard
// ("a/c").
type AsyncPending struct {
	Op                         string
	Account, Container, Object string
	Headers                    map[string]string
	ContainerPath              string
}

// header looks up a header case-insensitively.
func header(h map[string]string, name string) (string, bool) {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// policyOf is the storage policy an update's object is in: its
// X-Backend-Storage-Policy-Index, else 0.
func policyOf(p AsyncPending) int {
	v, _ := header(p.Headers, "X-Backend-Storage-Policy-Index")
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// asyncPath is <dev>/async_pending[-N]/<hash[-3:]>/<hash>-<ts.internal>,
// N the update's storage policy (as Swift's object server files it) and ts
// X-Meta-Timestamp or else X-Timestamp of the update.
func (s *ObjectStore) asyncPath(device string, p AsyncPending) (string, error) {
	v, ok := header(p.Headers, "X-Meta-Timestamp")
	if !ok {
		v, ok = header(p.Headers, "X-Timestamp")
	}
	if !ok {
		return "", fmt.Errorf("storage: async_pending without X-Timestamp")
	}
	ts, err := timestamp.Parse(v)
	if err != nil {
		return "", fmt.Errorf("storage: async_pending X-Timestamp %q: %w", v, err)
	}
	h := s.ObjectHash(p.Account, p.Container, p.Object)
	return filepath.Join(s.devicePath(device), ring.PolicyString(asyncBase, policyOf(p)), h[len(h)-3:], h+"-"+ts.Internal()), nil
}

// WriteAsyncPending stores p for the updater in Swift's format. Returns
// after the file and the directories it was created or renamed into are
// durable (group-committed with concurrent writes, see finalize).
func (s *ObjectStore) WriteAsyncPending(device string, p AsyncPending) error {
	if err := s.CheckDevice(device); err != nil {
		return err
	}
	dest, err := s.stageAsyncPending(device, p)
	if err != nil {
		return err
	}
	if err := s.syncGroupFor(device).wait(s.devicePath(device)); err != nil {
		s.fs.Remove(dest)
		return noSpace(err)
	}
	return nil
}

// stageAsyncPending writes p into place without making it durable; the
// caller's group flush does. It returns the file's path.
func (s *ObjectStore) stageAsyncPending(device string, p AsyncPending) (string, error) {
	dest, err := s.asyncPath(device, p)
	if err != nil {
		return "", err
	}
	blob, err := encodeAsyncPending(p)
	if err != nil {
		return "", err
	}
	tmp := filepath.Join(s.devicePath(device), ring.PolicyString(tmpBase, policyOf(p)))
	if err := s.fs.MkdirAll(tmp, 0o755); err != nil {
		return "", noSpace(err)
	}
	f, err := s.fs.CreateTemp(tmp, tmpPattern)
	if err != nil {
		return "", noSpace(err)
	}
	_, err = f.Write(blob)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.renameCreatingDir(f.Name(), dest)
	}
	if err != nil {
		s.fs.Remove(f.Name())
		return "", noSpace(err)
	}
	return dest, nil
}

// AsyncPendingPath is where WriteAsyncPending stores p on device.
func (s *ObjectStore) AsyncPendingPath(device string, p AsyncPending) (string, error) {
	return s.asyncPath(device, p)
}

// ListAsyncPendings returns the paths of the policy's async_pending files
// on device, in directory order (oldest first within one object).
func (s *ObjectStore) ListAsyncPendings(device string) ([]string, error) {
	root := filepath.Join(s.devicePath(device), ring.PolicyString(asyncBase, s.policy))
	suffixes, err := s.fs.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, suf := range suffixes {
		if !validSuffix(suf) {
			continue
		}
		names, err := s.fs.ReadDir(filepath.Join(root, suf))
		if err != nil {
			if errNotExist(err) || isNotDir(err) {
				continue
			}
			return nil, err
		}
		for _, n := range names {
			if h, _, ok := strings.Cut(n, "-"); ok && len(h) == 32 {
				out = append(out, filepath.Join(root, suf, n))
			}
		}
	}
	return out, nil
}

// LoadAsyncPending reads an async_pending file written by swiftbox or
// Swift (protocol 0 or 2, HeaderKeyDict headers).
func (s *ObjectStore) LoadAsyncPending(path string) (AsyncPending, error) {
	f, err := s.fs.Open(path)
	if err != nil {
		return AsyncPending{}, err
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return AsyncPending{}, err
	}
	p, err := decodeAsyncPending(data)
	if err != nil {
		return p, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// encodeAsyncPending pickles p as Swift's object server does.
func encodeAsyncPending(p AsyncPending) ([]byte, error) {
	headers := make(map[string]any, len(p.Headers))
	for k, v := range p.Headers {
		headers[k] = v
	}
	m := map[string]any{
		"op":        p.Op,
		"account":   p.Account,
		"container": p.Container,
		"obj":       p.Object,
		"headers":   headers,
	}
	if p.ContainerPath != "" {
		m["container_path"] = p.ContainerPath
	}
	return pickle.Marshal(m)
}

func decodeAsyncPending(data []byte) (AsyncPending, error) {
	m, err := pickle.UnmarshalDict(data)
	if err != nil {
		return AsyncPending{}, err
	}
	str := func(k string) string { v, _ := m[k].(string); return v }
	p := AsyncPending{
		Op: str("op"), Account: str("account"), Container: str("container"),
		Object: str("obj"), ContainerPath: str("container_path"),
		Headers: map[string]string{},
	}
	if h, ok := m["headers"].(map[string]any); ok {
		for k, v := range h {
			if sv, err := pickle.ScalarString(v); err == nil {
				p.Headers[k] = sv
			}
		}
	}
	if p.Op == "" || p.Account == "" {
		return p, fmt.Errorf("%w: not an async_pending", ErrBadMetadata)
	}
	return p, nil
}

// RemoveAsyncPending deletes a delivered update and, if it was the last
// in its directory, the directory. A missing file is not an error. The
// removal is not fsynced: should a crash undo it, the update is resent,
// which container updates tolerate.
func (s *ObjectStore) RemoveAsyncPending(path string) error {
	if err := s.fs.Remove(path); err != nil && !errNotExist(err) {
		return err
	}
	return nil
}

// renameCreatingDir renames tmp to dest, creating dest's directory. A
// concurrent RemoveAsyncPending may rmdir that directory between the mkdir
// and the rename, so ENOENT is retried a few times.
func (s *ObjectStore) renameCreatingDir(tmp, dest string) error {
	var err error
	for range 4 {
		if err = s.fs.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
			return err
		}
		if err = s.fs.Rename(tmp, dest); !errNotExist(err) {
			return err
		}
	}
	return err
}
