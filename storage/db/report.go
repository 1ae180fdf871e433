package db

import (
	"swiftbox/ring"
	"swiftbox/storage/timestamp"
)

// Partition is the partition of an account's (container "") or a
// container's database in r.
func (s *Store) Partition(r *ring.Ring, account, container string) int {
	return r.Partition(ring.HashPath(s.cfg.HashPrefix, s.cfg.HashSuffix, account, container, ""))
}

// AccountReport is Swift's container-updater check for one container
// database: its account, the row to send the account, and whether that
// row differs from the one last recorded with MarkReported (so it is due).
// The proxy reports every change as it happens; this report is what makes
// the account converge when those were lost (all account replicas down,
// a crash) or came from a replica that was behind.
func (s *Store) AccountReport(f File) (account string, row ContainerRow, due bool, err error) {
	h, err := s.acquire(f.Device, f.Path, nil)
	if err != nil {
		return "", row, false, err
	}
	defer s.release(h)
	err = h.view(func(c *txCtx) error {
		st, err := c.container()
		if err != nil {
			return err
		}
		account = st.Account
		row = ContainerRow{Name: st.Container, PutTimestamp: st.PutTimestamp, DeleteTimestamp: st.DeleteTimestamp,
			ObjectCount: st.ObjectCount, BytesUsed: st.BytesUsed, StoragePolicy: st.StoragePolicy}
		due = st.Reported == nil || *st.Reported != reportOf(row)
		return nil
	})
	return account, row, due, err
}

// MarkReported records row (from AccountReport) as sent to the account.
// If the container changed meanwhile, its next AccountReport is due again.
func (s *Store) MarkReported(f File, row ContainerRow) error {
	h, err := s.acquire(f.Device, f.Path, nil)
	if err != nil {
		return err
	}
	defer s.release(h)
	return h.update(func(c *txCtx) error {
		st, err := c.container()
		if err != nil {
			return err
		}
		r := reportOf(row)
		st.Reported = &r
		return nil
	})
}

// reported is what a container database last told its account (Swift's
// reported_put_timestamp, reported_delete_timestamp,
// reported_object_count and reported_bytes_used).
type reported struct {
	Put, Delete   timestamp.Timestamp
	Count, Bytes  int64
	StoragePolicy int
}

func reportOf(r ContainerRow) reported {
	return reported{Put: r.PutTimestamp, Delete: r.DeleteTimestamp, Count: r.ObjectCount, Bytes: r.BytesUsed, StoragePolicy: r.StoragePolicy}
}
