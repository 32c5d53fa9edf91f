package parser

import "strconv"

// UnnamedData is the name of an EventData <Data> element without a Name
// attribute (classic logs such as Windows PowerShell 400/600/800, ESENT,
// MSSQL or MSI write their values that way).
const UnnamedData = "Data"

// A Namer gives the fields of one event the names they are known by, the
// one way the reader, dump, export and the rules name them: a field keeps
// its name (UnnamedData for an unnamed <Data> element or an empty name)
// unless an earlier field of the event already has it; a repeat becomes
// name#2, name#3, … (the next suffix no earlier field has, so that a field
// the log itself calls X#2 is never shadowed). Every field thus has a name
// of its own and no value is lost: Data, Data#2, Data#3 for three unnamed
// values; Item, Item#2 for an array of two in <Data Name="Item">.
//
// The reader names fields with a Namer as it decodes them, so an Event's
// Fields always have distinct names; code that builds Events itself names
// their fields with one before writing them out. The zero Namer is ready to
// use; Reset makes it ready for the next event.
type Namer struct {
	names   []string            // names given since Reset, while few
	index   map[string]struct{} // all names given, once there are many
	indexed bool                // index is in use
	bloom   [2]uint64           // a bit per name given (see bit): most new names miss
	next    map[string]int      // per repeated name: the suffix to try next
	buf     []byte
	made    map[string]string // generated names, kept across Reset (bounded)
}

// namerLinear is how many names a Namer compares one by one before it
// indexes them in a map.
const namerLinear = 32

// Reset forgets the names given (the next call names a new event's first
// field).
func (n *Namer) Reset() {
	n.names = n.names[:0] // (the old names stay referenced until overwritten: no clearing cost per event)
	if n.indexed {
		clear(n.index)
		n.indexed = false
	}
	n.bloom = [2]uint64{}
	clear(n.next)
}

// Name returns the name of the event's next field, whose own name is name.
func (n *Namer) Name(name string) string {
	if name == "" {
		name = UnnamedData
	}
	if k := bit(name); n.bloom[k>>6]&(1<<(k&63)) == 0 {
		n.bloom[k>>6] |= 1 << (k & 63) // the usual case: a name not met yet
		n.push(name)
		return name
	}
	if !n.taken(name) {
		n.add(name)
		return name
	}
	i := max(n.next[name], 2)
	for {
		n.buf = strconv.AppendInt(append(append(n.buf[:0], name...), '#'), int64(i), 10)
		i++
		if !n.takenBytes(n.buf) {
			break
		}
	}
	if n.next == nil {
		n.next = make(map[string]int)
	}
	n.next[name] = i
	s, ok := n.made[string(n.buf)]
	if !ok {
		s = string(n.buf)
		if n.made == nil {
			n.made = make(map[string]string)
		}
		if len(n.made) < maxInterned {
			n.made[s] = s
		}
	}
	n.add(s)
	return s
}

// bit picks a Namer's bloom bit for a name from its length and three of
// its bytes.
func bit(s string) uint {
	if s == "" {
		return 0
	}
	return mix(uint(len(s)), uint(s[0]), uint(s[len(s)/2]), uint(s[len(s)-1]))
}

func bitBytes(b []byte) uint {
	if len(b) == 0 {
		return 0
	}
	return mix(uint(len(b)), uint(b[0]), uint(b[len(b)/2]), uint(b[len(b)-1]))
}

func mix(n, a, b, c uint) uint {
	h := uint32(n) | uint32(a)<<8 | uint32(b)<<16 | uint32(c)<<24
	return uint((h * 0x9E3779B1) >> 25) // 7 bits
}

func (n *Namer) add(s string) {
	k := bit(s)
	n.bloom[k>>6] |= 1 << (k & 63)
	n.push(s)
}

// push records a name given (its bloom bit is set).
func (n *Namer) push(s string) {
	if n.indexed {
		n.index[s] = struct{}{}
		return
	}
	n.names = append(n.names, s)
	if len(n.names) > namerLinear {
		if n.index == nil {
			n.index = make(map[string]struct{}, 2*len(n.names))
		}
		for _, x := range n.names {
			n.index[x] = struct{}{}
		}
		n.indexed = true
	}
}

func (n *Namer) taken(s string) bool {
	if k := bit(s); n.bloom[k>>6]&(1<<(k&63)) == 0 {
		return false
	}
	if n.indexed {
		_, ok := n.index[s]
		return ok
	}
	for _, x := range n.names {
		if x == s {
			return true
		}
	}
	return false
}

func (n *Namer) takenBytes(b []byte) bool {
	if k := bitBytes(b); n.bloom[k>>6]&(1<<(k&63)) == 0 {
		return false
	}
	if n.indexed {
		_, ok := n.index[string(b)]
		return ok
	}
	for _, x := range n.names {
		if x == string(b) {
			return true
		}
	}
	return false
}

// isRepeatOf reports whether field name is name itself or a repeat of it
// as a Namer writes one (name#2, name#3, …).
func isRepeatOf(field, name string) bool {
	if len(field) == len(name) {
		return field == name
	}
	if len(field) < len(name)+2 || field[len(name)] != '#' || field[:len(name)] != name {
		return false
	}
	for i := len(name) + 1; i < len(field); i++ {
		if c := field[i]; c < '0' || c > '9' {
			return false
		}
	}
	return true
}
