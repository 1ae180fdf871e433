package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The update journal is the fast path for the container updates that
// object writes carry. Instead of one async_pending file per replica write
// (a temp file, a rename and later an unlink, each contending for
// directory locks), the update is appended to the device's journal before
// the object's file is renamed into place, and made durable by the same
// group flush as the object (a large object's own fsyncs sync the journal
// before the rename). So no crash leaves an object whose update is lost;
// one can leave a record whose object never landed, and replay must check
// the disk (the updater sends what the device holds). Once the update is
// applied to its container database the record is released; a segment
// whose records are all released is deleted. After a crash the remaining
// segments are replayed (ReplayJournal). An update that cannot be applied
// becomes a real Swift async_pending file for the object updater.
//
// Layout: <device>/update_journal/<seq>.log, records of
// uint32 length | uint32 CRC-32C | async_pending pickle.

const (
	journalDir      = "update_journal"
	journalSegBytes = 8 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// JournalRef identifies one journalled update, to release it once applied.
type JournalRef struct {
	device string
	seg    uint64
}

// journal is one device's open journal.
type journal struct {
	mu     sync.Mutex
	dir    string
	seq    uint64 // current segment
	f      File
	size   int64
	live   map[uint64]int // records not yet released, per segment
	sealed map[uint64]bool
}

type journals struct {
	mu  sync.Mutex
	dev map[string]*journal
}

func (s *ObjectStore) journalFor(device string) (*journal, error) {
	s.journals.mu.Lock()
	defer s.journals.mu.Unlock()
	if j, ok := s.journals.dev[device]; ok {
		return j, nil
	}
	dir := filepath.Join(s.devicePath(device), journalDir)
	if err := s.fs.MkdirAll(dir, 0o755); err != nil {
		return nil, noSpace(err)
	}
	segs, err := s.journalSegments(device)
	if err != nil {
		return nil, err
	}
	j := &journal{dir: dir, live: map[uint64]int{}, sealed: map[uint64]bool{}}
	if len(segs) > 0 {
		// Segments left by an earlier run belong to ReplayJournal.
		j.seq = segs[len(segs)-1]
		for _, seg := range segs {
			j.sealed[seg] = true
		}
	}
	if s.journals.dev == nil {
		s.journals.dev = map[string]*journal{}
	}
	s.journals.dev[device] = j
	return j, nil
}

func segName(seq uint64) string { return fmt.Sprintf("%016d.log", seq) }

// journalSegments lists the device's segment numbers, oldest first.
func (s *ObjectStore) journalSegments(device string) ([]uint64, error) {
	names, err := s.fs.ReadDir(filepath.Join(s.devicePath(device), journalDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []uint64
	for _, n := range names {
		if v, ok := strings.CutSuffix(n, ".log"); ok {
			if seq, err := strconv.ParseUint(v, 10, 64); err == nil {
				out = append(out, seq)
			}
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i] < out[k] })
	return out, nil
}

// stageJournal appends ap to device's journal without making it durable;
// the caller's group flush does.
func (s *ObjectStore) stageJournal(device string, ap AsyncPending) (JournalRef, error) {
	blob, err := encodeAsyncPending(ap)
	if err != nil {
		return JournalRef{}, err
	}
	rec := make([]byte, 8+len(blob))
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(blob)))
	binary.LittleEndian.PutUint32(rec[4:8], crc32.Checksum(blob, crcTable))
	copy(rec[8:], blob)
	j, err := s.journalFor(device)
	if err != nil {
		return JournalRef{}, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil || j.size+int64(len(rec)) > journalSegBytes {
		if err := s.rotate(j); err != nil {
			return JournalRef{}, noSpace(err)
		}
	}
	if _, err := j.f.Write(rec); err != nil {
		// A partial record fails its CRC at replay and ends the segment
		// there; start a new segment for what follows.
		s.sealLocked(j)
		return JournalRef{}, noSpace(err)
	}
	j.size += int64(len(rec))
	j.live[j.seq]++
	return JournalRef{device: device, seg: j.seq}, nil
}

// rotate seals the current segment and opens the next.
func (s *ObjectStore) rotate(j *journal) error {
	s.sealLocked(j)
	f, err := s.fs.OpenFile(filepath.Join(j.dir, segName(j.seq+1)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	j.seq++
	j.f, j.size = f, 0
	return nil
}

// sealLocked closes the current segment; it is deleted once released.
func (s *ObjectStore) sealLocked(j *journal) {
	if j.f == nil {
		return
	}
	j.f.Close()
	j.f = nil
	j.sealed[j.seq] = true
	if j.live[j.seq] == 0 {
		s.fs.Remove(filepath.Join(j.dir, segName(j.seq)))
		delete(j.sealed, j.seq)
		delete(j.live, j.seq)
	}
}

// ReleaseJournal marks a journalled update applied (or saved as an
// async_pending file). A sealed segment with nothing left is deleted.
func (s *ObjectStore) ReleaseJournal(ref JournalRef) {
	j, err := s.journalFor(ref.device)
	if err != nil {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.live[ref.seg]--
	if j.live[ref.seg] <= 0 && j.sealed[ref.seg] {
		s.fs.Remove(filepath.Join(j.dir, segName(ref.seg)))
		delete(j.live, ref.seg)
		delete(j.sealed, ref.seg)
	}
}

// ReplayJournal hands every update journalled by an earlier run to apply,
// a segment's records at a time (oldest first, so the caller can merge
// each container's rows in one transaction: a segment holds up to 8 MiB
// of records, most of them applied before the crash), and deletes each
// segment once apply has returned nil for it. Call it before writes start
// (serve does, at startup); records that apply cannot handle should be
// saved with WriteAsyncPending and nil returned. A torn record at the end
// of a segment (a write interrupted by a crash, never acknowledged) ends
// it. A segment that cannot be read or applied is kept for the next
// replay, and the later ones are still replayed (one unreadable object
// must not hold back every update after it); the first error is
// returned.
func (s *ObjectStore) ReplayJournal(device string, apply func([]AsyncPending) error) (int, error) {
	segs, err := s.journalSegments(device)
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	keep := func(err error) {
		if first == nil {
			first = err
		}
	}
	for _, seg := range segs {
		path := filepath.Join(s.devicePath(device), journalDir, segName(seg))
		f, err := s.fs.Open(path)
		if err != nil {
			keep(err)
			continue
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			keep(err)
			continue
		}
		var aps []AsyncPending
		for len(data) >= 8 {
			l := binary.LittleEndian.Uint32(data[0:4])
			if uint64(l) > uint64(len(data)-8) || crc32.Checksum(data[8:8+l], crcTable) != binary.LittleEndian.Uint32(data[4:8]) {
				break
			}
			ap, err := decodeAsyncPending(data[8 : 8+l])
			data = data[8+l:]
			if err != nil {
				continue
			}
			aps = append(aps, ap)
		}
		if len(aps) > 0 {
			if err := apply(aps); err != nil {
				keep(err)
				continue
			}
			n += len(aps)
		}
		if err := s.fs.Remove(path); err != nil && !errNotExist(err) {
			keep(err)
		}
	}
	s.journals.mu.Lock()
	delete(s.journals.dev, device)
	s.journals.mu.Unlock()
	return n, first
}

// syncJournal fdatasyncs device's current journal segment (and syncs its
// directory, which may have just gained the segment).
func (s *ObjectStore) syncJournal(device string) error {
	j, err := s.journalFor(device)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	if err := j.f.Datasync(); err != nil {
		return err
	}
	return s.fs.SyncDir(j.dir)
}
