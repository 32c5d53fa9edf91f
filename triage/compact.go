package triage

import (
	"hash/maphash"
	"strings"
)

// Compact stores the hunter keeps while reading: one copy of each repeated
// string, the set of records seen (duplicates), and the table of Sysmon
// processes by (host, ProcessGuid). Each is sized by what was read and
// released by Finish.

// strID names a string of a strTable; 0 is "".
type strID uint32

// strTable holds one copy of each string it is given (images, command
// lines, users, hosts, files, channels), named by a small integer. Values
// it has not seen are cloned, so they do not pin the parser's per-event
// buffer.
type strTable struct {
	strs []string
	ids  map[string]strID // nil once frozen
}

func newStrTable() *strTable {
	return &strTable{strs: []string{""}, ids: map[string]strID{"": 0}}
}

// id returns the id of s, adding it when new.
func (t *strTable) id(s string) strID {
	if s == "" {
		return 0
	}
	if id, ok := t.ids[s]; ok {
		return id
	}
	s = strings.Clone(s)
	id := strID(len(t.strs))
	t.strs = append(t.strs, s)
	t.ids[s] = id
	return id
}

// lookup returns the id of s and whether the table holds it.
func (t *strTable) lookup(s string) (strID, bool) {
	id, ok := t.ids[s]
	return id, ok
}

// str returns the string named by id.
func (t *strTable) str(id strID) string { return t.strs[id] }

// freeze drops the index: afterwards the table only names strings.
func (t *strTable) freeze() { t.ids = nil }

// u64Set is a set of 64-bit hashes in open-addressed tables of 8-byte
// slots, split into shards that grow one at a time: about 12 bytes a key
// and no moment where the whole set exists twice (a Go map of uint64 takes
// about three times that).
type u64Set struct {
	shards [64]u64Shard
	n      int
}

type u64Shard struct {
	slots []uint64 // 0 marks a free slot
	n     int
}

// add inserts k and reports whether it was already there.
func (s *u64Set) add(k uint64) (dup bool) {
	if k == 0 {
		k = 1 // 0 marks free slots
	}
	sh := &s.shards[k>>58]
	if sh.n >= len(sh.slots)*3/4 {
		sh.grow()
	}
	mask := uint64(len(sh.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		switch sh.slots[i] {
		case k:
			return true
		case 0:
			sh.slots[i] = k
			sh.n++
			s.n++
			return false
		}
	}
}

func (sh *u64Shard) grow() {
	old := sh.slots
	sh.slots = make([]uint64, max(64, 2*len(old)))
	mask := uint64(len(sh.slots) - 1)
	for _, k := range old {
		if k == 0 {
			continue
		}
		i := k & mask
		for sh.slots[i] != 0 {
			i = (i + 1) & mask
		}
		sh.slots[i] = k
	}
}

// procKey names a Sysmon process: host and ProcessGuid.
type procKey struct {
	host strID
	guid GUID
}

// Flags of a guidRow.
const (
	rowInterest uint8 = 1 << iota // regsvr32, a descendant or a match: its activity is kept
	rowCreated                    // a Sysmon 1 named it
)

// guidRow is what the hunter knows of one Sysmon process (host,
// ProcessGuid) while reading: its activity counts, the process id and
// image its first activity event gave, and when that came. Rows hold no
// pointers, so the collector never scans them.
type guidRow struct {
	key   procKey
	seen  Activity
	pid   uint32
	image strID
	first int32 // arrival (sequence number) of its first event
	flags uint8
}

// guidTable is the rows of every Sysmon process seen, found by key through
// an open-addressed index of 4-byte row numbers (the key lives in the row).
// Rows are stored in fixed blocks, so that adding one never copies the
// others.
type guidTable struct {
	blocks [][]guidRow
	n      int
	index  []int32 // -1 free
	seed   maphash.Seed
}

// rowBlock is the number of rows per block of a guidTable.
const rowBlock = 4096

// row returns row r.
func (t *guidTable) row(r int32) *guidRow { return &t.blocks[r/rowBlock][r%rowBlock] }

// len returns the number of rows.
func (t *guidTable) len() int { return t.n }

func newGUIDTable() *guidTable { return &guidTable{seed: maphash.MakeSeed()} }

func (t *guidTable) hash(k procKey) uint64 {
	var h maphash.Hash
	h.SetSeed(t.seed)
	var b [20]byte
	b[0], b[1], b[2], b[3] = byte(k.host), byte(k.host>>8), byte(k.host>>16), byte(k.host>>24)
	copy(b[4:], k.guid[:])
	h.Write(b[:])
	return h.Sum64()
}

// find returns the row of k, or -1.
func (t *guidTable) find(k procKey) int32 {
	if len(t.index) == 0 {
		return -1
	}
	mask := uint64(len(t.index) - 1)
	for i := t.hash(k) & mask; ; i = (i + 1) & mask {
		r := t.index[i]
		if r < 0 {
			return -1
		}
		if t.row(r).key == k {
			return r
		}
	}
}

// get returns the row of k, adding an empty one (first seen at seq) when
// there is none.
func (t *guidTable) get(k procKey, seq int32) int32 {
	if r := t.find(k); r >= 0 {
		return r
	}
	if t.n >= len(t.index)*3/4 {
		t.grow()
	}
	if t.n%rowBlock == 0 {
		t.blocks = append(t.blocks, make([]guidRow, rowBlock))
	}
	r := int32(t.n)
	t.n++
	*t.row(r) = guidRow{key: k, first: seq}
	t.place(r)
	return r
}

func (t *guidTable) place(r int32) {
	mask := uint64(len(t.index) - 1)
	i := t.hash(t.row(r).key) & mask
	for t.index[i] >= 0 {
		i = (i + 1) & mask
	}
	t.index[i] = r
}

func (t *guidTable) grow() {
	t.index = make([]int32, max(1024, 2*len(t.index)))
	for i := range t.index {
		t.index[i] = -1
	}
	for r := 0; r < t.n; r++ {
		t.place(int32(r))
	}
}
