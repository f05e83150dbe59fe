package site

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mode-build/mode/report"
	bolt "go.etcd.io/bbolt"
)

// DefaultMaxReports is how many reports a DB keeps by default; the oldest go
// first.
const DefaultMaxReports = 10000

var (
	bucketReports  = []byte("reports")  // id (8 bytes, big endian) -> report JSON
	bucketMachines = []byte("machines") // machine ID -> Machine JSON
)

// DB keeps boot reports in a bbolt file: at most max reports, the oldest
// dropped first, and per machine its last report.
type DB struct {
	db  *bolt.DB
	max int
}

// Machine is a machine as the site knows it: its latest identity, its last
// report and how many reports it sent.
type Machine struct {
	ID      string         `json:"id"`
	Machine report.Machine `json:"machine"`
	Reports int            `json:"reports"`
	Last    *report.Report `json:"last"`
	Facts   *report.Facts  `json:"facts,omitempty"` // of its last report that had them
}

// OpenDB opens (creating) the database file, keeping at most max reports
// (DefaultMaxReports when max <= 0).
func OpenDB(file string, max int) (*DB, error) {
	if max <= 0 {
		max = DefaultMaxReports
	}
	db, err := bolt.Open(file, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("reports database %s: %w", file, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketReports, bucketMachines} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("reports database %s: %w", file, err)
	}
	return &DB{db: db, max: max}, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

func key(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// Add stores r (checked) with the next ID and the time received, drops the
// oldest reports beyond the bound, and returns the ID.
func (d *DB) Add(r *report.Report, received time.Time) (uint64, error) {
	if err := r.Check(); err != nil {
		return 0, err
	}
	var id uint64
	// Batch: reports arriving together (a rack powering on) share one
	// transaction and one fsync instead of queueing for one each.
	err := d.db.Batch(func(tx *bolt.Tx) error {
		rb, mb := tx.Bucket(bucketReports), tx.Bucket(bucketMachines)
		var err error
		if id, err = rb.NextSequence(); err != nil {
			return err
		}
		stored := *r
		stored.ID, stored.Received = id, received.UTC()
		data, err := json.Marshal(&stored)
		if err != nil {
			return err
		}
		if err := rb.Put(key(id), data); err != nil {
			return err
		}
		m := Machine{ID: r.Machine.ID()}
		if old := mb.Get([]byte(m.ID)); old != nil {
			_ = json.Unmarshal(old, &m)
		}
		m.Machine, m.Last = r.Machine, &stored
		if r.Facts != nil {
			m.Facts = r.Facts
		}
		m.Reports++
		if data, err = json.Marshal(&m); err != nil {
			return err
		}
		if err := mb.Put([]byte(m.ID), data); err != nil {
			return err
		}
		// Keys are consecutive: drop from the first while more than max.
		c := rb.Cursor()
		for k, _ := c.First(); k != nil && id-binary.BigEndian.Uint64(k) >= uint64(d.max); k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store report: %w", err)
	}
	return id, nil
}

// Reports returns up to limit reports, newest first, of machine id (all
// machines when id is "").
func (d *DB) Reports(id string, limit int) ([]*report.Report, error) {
	out := []*report.Report{}
	err := d.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketReports).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var r report.Report
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("report %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if id == "" || r.Machine.ID() == id {
				out = append(out, &r)
			}
		}
		return nil
	})
	return out, err
}

// Count returns how many reports the database holds.
func (d *DB) Count() (int, error) {
	n := 0
	err := d.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketReports).Stats().KeyN
		return nil
	})
	return n, err
}

// ErrNoMachine is returned for a machine that never reported.
var ErrNoMachine = errors.New("no such machine")

// Machines returns every machine that reported, the latest report first.
func (d *DB) Machines() ([]Machine, error) {
	out := []Machine{}
	err := d.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMachines).ForEach(func(k, v []byte) error {
			var m Machine
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("machine %q: %w", k, err)
			}
			out = append(out, m)
			return nil
		})
	})
	sortMachines(out)
	return out, err
}

// Machine returns the machine id.
func (d *DB) Machine(id string) (Machine, error) {
	var m Machine
	err := d.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMachines).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("%w: %q", ErrNoMachine, id)
		}
		return json.Unmarshal(v, &m)
	})
	return m, err
}
