package db

import (
	"errors"

	bolt "go.etcd.io/bbolt"

	"swiftbox/storage/timestamp"
)

// ContainerRow is one container's entry in an account database, as the
// container server reports it.
type ContainerRow struct {
	Name            string
	PutTimestamp    timestamp.Timestamp
	DeleteTimestamp timestamp.Timestamp
	ObjectCount     int64
	BytesUsed       int64
	Deleted         bool // computed on merge; ignored on input
	StoragePolicy   int
	// StatsTimestamp is when ObjectCount, BytesUsed and StoragePolicy were
	// reported; on a merge the newer report's values win, so a stale row
	// replicated from another copy never brings back old counts (and with
	// them a deleted container). PutContainerRow stamps a row that has none.
	// Zero in rows written before it existed: any stamped report wins.
	StatsTimestamp timestamp.Timestamp
}

// AccountInfo is an account database's stat record.
type AccountInfo struct {
	Account         string
	CreatedAt       timestamp.Timestamp
	PutTimestamp    timestamp.Timestamp
	DeleteTimestamp timestamp.Timestamp
	StatusChangedAt timestamp.Timestamp
	ContainerCount  int64
	ObjectCount     int64
	BytesUsed       int64
	Metadata        Metadata // live items only
	Deleted         bool
	// PolicyStats are the counts per storage policy index of every policy
	// a container of the account has used (Swift's policy_stat table).
	PolicyStats map[int]PolicyStat
}

// PolicyStat is one storage policy's share of an account.
type PolicyStat struct {
	ContainerCount, ObjectCount, BytesUsed int64
}

// ContainerEntry is one account listing entry: a row, or a delimiter
// roll-up when Subdir is non-empty.
type ContainerEntry struct {
	ContainerRow
	Subdir string
}

// accountStat is the stored form of an account's info.
type accountStat struct {
	Account         string
	ID              string
	CreatedAt       timestamp.Timestamp
	PutTimestamp    timestamp.Timestamp
	DeleteTimestamp timestamp.Timestamp
	StatusChangedAt timestamp.Timestamp
	Status          string
	ContainerCount  int64
	ObjectCount     int64
	BytesUsed       int64
	MaxRow          uint64
	// PolicyStats is nil in databases written before storage policies,
	// whose containers were all in policy 0 (see policyStats).
	PolicyStats map[int]*PolicyStat `json:",omitempty"`
}

// policyStats is st.PolicyStats, made from the totals for a database that
// predates it (every container then was in policy 0), as Swift migrates
// an old account database's policy_stat.
func (st *accountStat) policyStats() map[int]*PolicyStat {
	if st.PolicyStats == nil {
		st.PolicyStats = map[int]*PolicyStat{}
		if st.ContainerCount != 0 || st.ObjectCount != 0 || st.BytesUsed != 0 {
			st.PolicyStats[0] = &PolicyStat{ContainerCount: st.ContainerCount, ObjectCount: st.ObjectCount, BytesUsed: st.BytesUsed}
		}
	}
	return st.PolicyStats
}

// addPolicy adds (sign 1) or removes (sign -1) a row's share of its
// policy's stats.
func (st *accountStat) addPolicy(r *ContainerRow, sign int64) {
	ps := st.policyStats()
	s := ps[r.StoragePolicy]
	if s == nil {
		s = &PolicyStat{}
		ps[r.StoragePolicy] = s
	}
	s.ObjectCount += sign * r.ObjectCount
	s.BytesUsed += sign * r.BytesUsed
	if !r.Deleted {
		s.ContainerCount += sign
	}
}

// deleted is Swift's AccountBroker._is_deleted_info.
func (st *accountStat) deleted() bool {
	return st.Status == statusDeleted || (st.ContainerCount == 0 && st.DeleteTimestamp.After(st.PutTimestamp))
}

// statusDeleted is Swift's is_status_deleted: deleted by a DELETE, whether
// or not containers remain, until the reaper removes the database.
func (st *accountStat) statusDeleted() bool {
	return st.Status == statusDeleted || st.DeleteTimestamp.After(st.PutTimestamp)
}

func (c *txCtx) account() (*accountStat, error) {
	if c.astat == nil {
		st := new(accountStat)
		if err := c.loadJSON(keyStat, st); err != nil {
			return nil, err
		}
		c.astat = st
	}
	return c.astat, nil
}

func (s *Store) openAccount(device string, part int, account string) (*handle, error) {
	return s.acquire(device, s.DBPath(KindAccounts, device, part, account, ""), nil)
}

// CreateAccount is the account server's PUT: a new database is created
// (created true, 201); an existing live one gets the newer put timestamp
// and meta (created false, 202). A deleted account not yet reaped is
// ErrRecentlyDeleted (403). Returns after the change is durable.
func (s *Store) CreateAccount(device string, part int, account string, putTs timestamp.Timestamp, meta Metadata) (created bool, err error) {
	fresh := false
	path := s.DBPath(KindAccounts, device, part, account, "")
	h, err := s.acquire(device, path, func(tx *bolt.Tx) error {
		fresh = true
		if err := createBuckets(tx, KindAccounts); err != nil {
			return err
		}
		c := &txCtx{tx: tx, astat: &accountStat{
			Account: account, ID: newID(), CreatedAt: timestamp.Now(),
			PutTimestamp: putTs, StatusChangedAt: putTs,
		}}
		if err := c.storeMeta(Metadata{}); err != nil {
			return err
		}
		if err := c.mergeMeta(meta); err != nil {
			return err
		}
		return c.flush()
	})
	if err != nil {
		return false, err
	}
	defer s.release(h)
	if fresh {
		return true, nil
	}
	err = h.update(func(c *txCtx) error {
		st, err := c.account()
		if err != nil {
			return err
		}
		if st.statusDeleted() {
			return soft(ErrRecentlyDeleted)
		}
		created = st.deleted()
		if putTs.After(st.PutTimestamp) {
			st.PutTimestamp = putTs
		}
		if st.deleted() {
			return soft(ErrConflict)
		}
		return c.mergeMeta(meta)
	})
	return created, err
}

// DeleteAccount is the account server's DELETE: ErrNotFound if missing or
// already deleted; otherwise the metadata is cleared and the account
// marked deleted at ts. Its containers are left for the reaper.
func (s *Store) DeleteAccount(device string, part int, account string, ts timestamp.Timestamp) error {
	h, err := s.openAccount(device, part, account)
	if err != nil {
		return err
	}
	defer s.release(h)
	return h.update(func(c *txCtx) error {
		st, err := c.account()
		if err != nil {
			return err
		}
		if st.deleted() {
			return soft(ErrNotFound)
		}
		if err := c.clearMeta(ts, nil); err != nil {
			return err
		}
		markDeleted(&st.DeleteTimestamp, &st.StatusChangedAt, &st.Status, ts)
		return nil
	})
}

// AccountInfo returns the account's info; a deleted account returns its
// info together with ErrNotFound.
func (s *Store) AccountInfo(device string, part int, account string) (AccountInfo, error) {
	h, err := s.openAccount(device, part, account)
	if err != nil {
		return AccountInfo{}, err
	}
	defer s.release(h)
	var info AccountInfo
	err = h.view(func(c *txCtx) error {
		st, err := c.account()
		if err != nil {
			return err
		}
		md, err := c.loadMeta()
		if err != nil {
			return err
		}
		info = AccountInfo{
			Account: st.Account, CreatedAt: st.CreatedAt, PutTimestamp: st.PutTimestamp,
			DeleteTimestamp: st.DeleteTimestamp, StatusChangedAt: st.StatusChangedAt,
			ContainerCount: st.ContainerCount, ObjectCount: st.ObjectCount, BytesUsed: st.BytesUsed,
			Metadata: md.visible(), Deleted: st.deleted(), PolicyStats: map[int]PolicyStat{},
		}
		for i, ps := range st.policyStats() {
			info.PolicyStats[i] = *ps
		}
		return nil
	})
	if err == nil && info.Deleted {
		err = ErrNotFound
	}
	return info, err
}

// UpdateAccountMetadata merges meta into the account's metadata, the newer
// timestamp winning per key.
func (s *Store) UpdateAccountMetadata(device string, part int, account string, meta Metadata) error {
	h, err := s.openAccount(device, part, account)
	if err != nil {
		return err
	}
	defer s.release(h)
	return h.update(func(c *txCtx) error { return c.mergeMeta(meta) })
}

// PutContainerRow records a container's creation, deletion or new stats
// (Swift's put_container): the newer put and delete timestamps win, the
// counts are the reported ones (stamped now unless row.StatsTimestamp is
// set), and the row is deleted when its delete timestamp is newer than its
// put timestamp and it holds no objects, whatever bytes it reports. The
// account totals stay exact. Concurrent calls share one transaction and
// one fsync. ErrNotFound if the account database is missing or deleted.
func (s *Store) PutContainerRow(device string, part int, account string, row ContainerRow) error {
	if row.StatsTimestamp.IsZero() {
		row.StatsTimestamp = timestamp.Now()
	}
	h, err := s.openAccount(device, part, account)
	if err != nil {
		return err
	}
	defer s.release(h)
	return h.do(func(c *txCtx) error {
		st, err := c.account()
		if err != nil {
			return err
		}
		if st.deleted() {
			return soft(ErrNotFound)
		}
		return c.mergeContainer(row)
	})
}

// MergeContainerRows merges rows from a replica in one transaction, with
// PutContainerRow's rules, whether or not the account is deleted.
func (s *Store) MergeContainerRows(device string, part int, account string, rows []ContainerRow) error {
	h, err := s.openAccount(device, part, account)
	if err != nil {
		return err
	}
	defer s.release(h)
	return h.do(func(c *txCtx) error {
		for _, r := range rows {
			if err := c.mergeContainer(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// mergeContainer is Swift's AccountBroker.merge_items for one row, made
// independent of the order rows arrive in: the newest put and delete
// timestamps win, and the counts and policy of the newer stats report
// (StatsTimestamp; between two unstamped rows the incoming one, as in
// Swift). The row is deleted when its delete timestamp is newer than its
// put timestamp and its object count is 0. A merge that changes nothing
// writes nothing, so replicas that agree stop exchanging the row.
func (c *txCtx) mergeContainer(in ContainerRow) error {
	st, err := c.account()
	if err != nil {
		return err
	}
	if in.Name == "" {
		return soft(errors.New("db: container row without a name"))
	}
	live, dead := c.tx.Bucket(bucketLive), c.tx.Bucket(bucketDeleted)
	name := []byte(in.Name)
	var old *ContainerRow
	var oldID uint64
	for _, b := range []*bolt.Bucket{live, dead} {
		if v := b.Get(name); v != nil {
			r, id, err := decodeContainer(name, v)
			if err != nil {
				return err
			}
			old, oldID = &r, id
			break
		}
	}
	if old != nil {
		if old.PutTimestamp.After(in.PutTimestamp) {
			in.PutTimestamp = old.PutTimestamp
		}
		if old.DeleteTimestamp.After(in.DeleteTimestamp) {
			in.DeleteTimestamp = old.DeleteTimestamp
		}
		newerStats := in.StatsTimestamp.After(old.StatsTimestamp) ||
			(in.StatsTimestamp.IsZero() && old.StatsTimestamp.IsZero())
		if !newerStats {
			in.ObjectCount, in.BytesUsed, in.StoragePolicy = old.ObjectCount, old.BytesUsed, old.StoragePolicy
			in.StatsTimestamp = old.StatsTimestamp
		}
	}
	in.Deleted = in.DeleteTimestamp.After(in.PutTimestamp) && in.ObjectCount == 0
	if old != nil && *old == in {
		return nil
	}
	st.policyStats() // migrated from the totals before they change
	if old != nil {
		st.ObjectCount -= old.ObjectCount
		st.BytesUsed -= old.BytesUsed
		st.addPolicy(old, -1)
		if old.Deleted {
			err = dead.Delete(name)
		} else {
			st.ContainerCount--
			err = live.Delete(name)
		}
		if err != nil {
			return err
		}
	}
	id, err := c.reindex(&st.MaxRow, oldID, name)
	if err != nil {
		return err
	}
	st.ObjectCount += in.ObjectCount
	st.BytesUsed += in.BytesUsed
	st.addPolicy(&in, 1)
	if in.Deleted {
		return dead.Put(name, encodeContainer(&in, id))
	}
	st.ContainerCount++
	return live.Put(name, encodeContainer(&in, id))
}

// ListContainers lists the account's containers with Swift's listing
// semantics (see ListOptions), reading O(limit + roll-ups) keys.
func (s *Store) ListContainers(device string, part int, account string, opts ListOptions) ([]ContainerEntry, error) {
	h, err := s.openAccount(device, part, account)
	if err != nil {
		return nil, err
	}
	defer s.release(h)
	var out []ContainerEntry
	err = h.view(func(c *txCtx) error {
		_, err := scanListing(c.tx, opts, func(k, v []byte, _ bool) error {
			r, _, err := decodeContainer(k, v)
			out = append(out, ContainerEntry{ContainerRow: r})
			return err
		}, func(dir string) {
			out = append(out, ContainerEntry{Subdir: dir})
		})
		return err
	})
	return out, err
}

// ContainerRowsSince is ObjectRowsSince for an account database.
func (s *Store) ContainerRowsSince(device string, part int, account string, afterRowID uint64, limit int) ([]ContainerRow, uint64, error) {
	h, err := s.openAccount(device, part, account)
	if err != nil {
		return nil, afterRowID, err
	}
	defer s.release(h)
	var rows []ContainerRow
	last := afterRowID
	err = h.view(func(c *txCtx) error {
		return c.rowsSince(afterRowID, limit, func(name, v []byte, id uint64) error {
			r, _, err := decodeContainer(name, v)
			rows = append(rows, r)
			last = id
			return err
		})
	})
	return rows, last, err
}
