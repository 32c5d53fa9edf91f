package triage

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/evtriage/evtriage/parser"
)

// Tamper is what one file shows of tampering or loss: its header flags,
// what reading it gave, the holes and reversals in its record ids and
// times, and the events that say a log was cleared or Sysmon changed. A
// TamperScan gathers it while the file is read, at a small constant cost
// per event; each list keeps its first MaxTamperListed entries and counts
// the rest.
//
// Record ids (EventRecordID) are numbered per channel and computer, so
// each such sequence of the file is followed on its own (at most
// maxSequences per file; Untracked counts the events of the others). A
// log that wrapped around (the service overwrote its oldest chunks) has
// its newest chunks before its oldest in the file: one step back of every
// sequence at the same place is that wrap, not a sign.
type Tamper struct {
	Dirty     bool // file header flag: the log was not closed cleanly (every copy of a live log is)
	Full      bool // file header flag: the log is full
	Wrapped   bool // the log wrapped around: its oldest records were overwritten
	Chunks    int  // chunks in the file
	Records   int  // events read, recovered ones included
	Recovered int  // events carved from slack space or damaged chunks (remnants of cleared or overwritten records)
	// First and Last are the earliest and the latest event time (zero when
	// no event has one).
	First, Last time.Time
	// Gaps are holes in a sequence of record ids; Missing counts the ids
	// missing in all of them, those recovered from the damaged chunk they
	// were in aside (a hole all of whose ids were recovered is none).
	Gaps      []RecordGap
	GapsTotal int
	Missing   uint64
	// Reversed are records whose id is not above the one before in their
	// sequence (repeated or reordered ids), the wrap aside.
	Reversed      []RecordGap
	ReversedTotal int
	// Backwards are records whose time is more than TimeSlack before the
	// latest time of their sequence so far (a clock set back).
	Backwards      []TimeJump
	BackwardsTotal int
	// Events are the events that tell of tampering: a log cleared,
	// Sysmon's configuration changed, Sysmon stopped or in error;
	// EventsTotal counts them all, and the counts by kind follow.
	Events                                            []LogEvent
	EventsTotal                                       int
	Cleared, SysmonStops, SysmonConfigs, SysmonErrors int
	// Untracked counts events of sequences beyond maxSequences, whose ids
	// and times were not followed.
	Untracked int
}

// RecordGap is a break in a sequence of record ids: After is the id before
// it, Next the id of the record after it, at Offset in the file.
type RecordGap struct {
	Computer string `json:"computer"`
	Channel  string `json:"channel"`
	After    uint64 `json:"after"`
	Next     uint64 `json:"next"`
	Offset   int64  `json:"offset"`
	// Renumbered is set when the file's own record numbers run on at the
	// gap: the ids were missing before this file was written (an export
	// with a filter, a collection of excerpts), not removed from it.
	Renumbered bool `json:"renumbered"`
	// Wrap is set for the gap between the newest and the oldest record of
	// a log that wrapped around.
	Wrap bool `json:"wrap"`
	// Recovered counts the ids of the gap read back from a damaged chunk
	// where they were (carved records of the sequence between the two).
	Recovered uint64 `json:"recovered"`
}

// Count is the number of record ids between the two records of the gap.
func (g RecordGap) Count() uint64 {
	if g.Next <= g.After {
		return 0
	}
	return g.Next - g.After - 1
}

// Missing is the number of the gap's ids not recovered either.
func (g RecordGap) Missing() uint64 { return g.Count() - min(g.Recovered, g.Count()) }

// TimeJump is a record whose time goes back: Time is its time, Latest the
// latest time of its sequence before it.
type TimeJump struct {
	Computer string
	Channel  string
	RecordID uint64
	Offset   int64
	Time     time.Time
	Latest   time.Time
}

// LogEvent is an event that tells of tampering with the logs.
type LogEvent struct {
	Sign      TamperSign
	Computer  string
	Channel   string
	EventID   uint16
	RecordID  uint64
	Offset    int64
	Time      time.Time
	Recovered bool
	// Detail says what the event names: who cleared which log, the
	// configuration Sysmon loaded, its error.
	Detail string
}

// TamperSign names a kind of tamper sign, strongest first.
type TamperSign int

// The signs. Signs from LogCleared to Recovered say records may be missing
// or altered; Dirty, Full and Wrapped are the header's and the ring's state,
// shown but not counted as signs.
const (
	SignLogCleared TamperSign = iota
	SignSysmonStopped
	SignSysmonConfig
	SignGaps
	SignReversed
	SignTimeBack
	SignRecovered
	SignSysmonError
	SignDirty
	SignFull
	SignWrapped
	numSigns
)

// signInfo is the one table of the signs: the name exports use and the
// words the screen and stats use.
var signInfo = [numSigns]struct{ name, short, title string }{
	SignLogCleared:    {"log_cleared", "cleared", "log cleared"},
	SignSysmonStopped: {"sysmon_stopped", "sysmon-stop", "Sysmon stopped"},
	SignSysmonConfig:  {"sysmon_config", "sysmon-conf", "Sysmon configuration changed"},
	SignGaps:          {"record_gaps", "gaps", "record ids missing"},
	SignReversed:      {"ids_reversed", "ids-back", "record ids go back"},
	SignTimeBack:      {"time_back", "time-back", "time goes back"},
	SignRecovered:     {"recovered", "recovered", "records recovered from slack"},
	SignSysmonError:   {"sysmon_error", "sysmon-err", "Sysmon error"},
	SignDirty:         {"dirty", "dirty", "not closed cleanly (dirty)"},
	SignFull:          {"full", "full", "log full"},
	SignWrapped:       {"wrapped", "wrapped", "log wrapped (oldest records overwritten)"},
}

func (s TamperSign) valid() bool { return s >= 0 && s < numSigns }

// String is the sign's name in exports ("log_cleared").
func (s TamperSign) String() string {
	if !s.valid() {
		return "unknown"
	}
	return signInfo[s].name
}

// Short is the sign as a column shows it ("cleared").
func (s TamperSign) Short() string {
	if !s.valid() {
		return "?"
	}
	return signInfo[s].short
}

// Title is the sign in words ("log cleared").
func (s TamperSign) Title() string {
	if !s.valid() {
		return "unknown sign"
	}
	return signInfo[s].title
}

// IsFlag reports whether s is a state of the log (dirty, full, wrapped)
// rather than a sign that records may be missing or altered.
func (s TamperSign) IsFlag() bool { return s >= SignDirty }

// MarshalJSON writes the sign's name.
func (s TamperSign) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a sign's name (an unknown name is an error).
func (s *TamperSign) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	for i := range numSigns {
		if signInfo[i].name == name {
			*s = i
			return nil
		}
	}
	return fmt.Errorf("triage: unknown tamper sign %q", name)
}

// SignCount is one sign a file shows and how often.
type SignCount struct {
	Sign  TamperSign
	Count int
}

// Signs lists what t shows, strongest first: the signs, then the flags.
// A nil Tamper shows nothing.
func (t *Tamper) Signs() []SignCount {
	if t == nil {
		return nil
	}
	var out []SignCount
	add := func(s TamperSign, n int) {
		if n > 0 {
			out = append(out, SignCount{s, n})
		}
	}
	add(SignLogCleared, t.Cleared)
	add(SignSysmonStopped, t.SysmonStops)
	add(SignSysmonConfig, t.SysmonConfigs)
	add(SignGaps, t.GapsTotal)
	add(SignReversed, t.ReversedTotal)
	add(SignTimeBack, t.BackwardsTotal)
	add(SignRecovered, t.Recovered)
	add(SignSysmonError, t.SysmonErrors)
	add(SignDirty, b2i(t.Dirty))
	add(SignFull, b2i(t.Full))
	add(SignWrapped, b2i(t.Wrapped))
	return out
}

// SignCount is how many signs (not flags) t shows: log events, gaps,
// reversed ids, time jumps and recovered records.
func (t *Tamper) SignCount() int {
	n := 0
	for _, s := range t.Signs() {
		if !s.Sign.IsFlag() {
			n += s.Count
		}
	}
	return n
}

// Summary is t's signs and flags on one line, strongest first:
// "cleared 1, gaps 3, dirty" ("" when it shows none).
func (t *Tamper) Summary() string {
	var parts []string
	for _, s := range t.Signs() {
		if s.Sign.IsFlag() {
			parts = append(parts, s.Sign.Short())
		} else {
			parts = append(parts, fmt.Sprintf("%s %d", s.Sign.Short(), s.Count))
		}
	}
	return strings.Join(parts, ", ")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tamperJSON is the tamper object of exports and `stats --format json`.
type tamperJSON struct {
	Signs          []string       `json:"signs"`
	Dirty          bool           `json:"dirty"`
	Full           bool           `json:"full"`
	Wrapped        bool           `json:"wrapped"`
	Chunks         int            `json:"chunks"`
	Records        int            `json:"records"`
	Recovered      int            `json:"recovered"`
	First          *string        `json:"first"`
	Last           *string        `json:"last"`
	Gaps           []gapJSON      `json:"gaps"`
	GapsTotal      int            `json:"gaps_total"`
	Missing        uint64         `json:"missing"`
	Reversed       []gapJSON      `json:"reversed"`
	ReversedTotal  int            `json:"reversed_total"`
	Backwards      []jumpJSON     `json:"time_back"`
	BackwardsTotal int            `json:"time_back_total"`
	Events         []logEventJSON `json:"events"`
	EventsTotal    int            `json:"events_total"`
	Cleared        int            `json:"log_cleared"`
	SysmonStops    int            `json:"sysmon_stopped"`
	SysmonConfigs  int            `json:"sysmon_config"`
	SysmonErrors   int            `json:"sysmon_error"`
	Untracked      int            `json:"untracked"`
}

type gapJSON struct {
	RecordGap
	Missing uint64 `json:"missing"`
}

type jumpJSON struct {
	Computer string  `json:"computer"`
	Channel  string  `json:"channel"`
	RecordID uint64  `json:"record_id"`
	Offset   int64   `json:"offset"`
	Time     *string `json:"time"`
	Latest   *string `json:"latest"`
}

type logEventJSON struct {
	Sign      TamperSign `json:"sign"`
	Computer  string     `json:"computer"`
	Channel   string     `json:"channel"`
	EventID   uint16     `json:"event_id"`
	RecordID  uint64     `json:"record_id"`
	Offset    int64      `json:"offset"`
	Time      *string    `json:"time"`
	Recovered bool       `json:"recovered"`
	Detail    string     `json:"detail"`
}

// MarshalJSON writes the tamper object of exports and `stats --format
// json`: times as RFC 3339 UTC (null when zero), signs by name, and
// every list with its total.
func (t Tamper) MarshalJSON() ([]byte, error) {
	gaps := func(l []RecordGap) []gapJSON {
		out := make([]gapJSON, 0, len(l))
		for _, g := range l {
			out = append(out, gapJSON{g, g.Missing()})
		}
		return out
	}
	out := tamperJSON{Signs: []string{}, Dirty: t.Dirty, Full: t.Full, Wrapped: t.Wrapped, Chunks: t.Chunks,
		Records: t.Records, Recovered: t.Recovered, First: timeStr(t.First), Last: timeStr(t.Last), Gaps: gaps(t.Gaps),
		GapsTotal: t.GapsTotal, Missing: t.Missing, Reversed: gaps(t.Reversed), ReversedTotal: t.ReversedTotal,
		Backwards: []jumpJSON{}, BackwardsTotal: t.BackwardsTotal, Events: []logEventJSON{}, EventsTotal: t.EventsTotal,
		Cleared: t.Cleared, SysmonStops: t.SysmonStops, SysmonConfigs: t.SysmonConfigs, SysmonErrors: t.SysmonErrors,
		Untracked: t.Untracked}
	for _, s := range t.Signs() {
		out.Signs = append(out.Signs, s.Sign.String())
	}
	for _, j := range t.Backwards {
		out.Backwards = append(out.Backwards, jumpJSON{j.Computer, j.Channel, j.RecordID, j.Offset, timeStr(j.Time), timeStr(j.Latest)})
	}
	for _, e := range t.Events {
		out.Events = append(out.Events, logEventJSON{e.Sign, e.Computer, e.Channel, e.EventID, e.RecordID, e.Offset,
			timeStr(e.Time), e.Recovered, e.Detail})
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes (exports read back); the
// signs are derived, not read.
func (t *Tamper) UnmarshalJSON(b []byte) error {
	var in tamperJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	parse := func(s *string) time.Time {
		if s == nil {
			return time.Time{}
		}
		v, _ := time.Parse(time.RFC3339Nano, *s)
		return v
	}
	*t = Tamper{Dirty: in.Dirty, Full: in.Full, Wrapped: in.Wrapped, Chunks: in.Chunks, Records: in.Records,
		Recovered: in.Recovered, First: parse(in.First), Last: parse(in.Last), GapsTotal: in.GapsTotal, Missing: in.Missing,
		ReversedTotal: in.ReversedTotal, BackwardsTotal: in.BackwardsTotal, EventsTotal: in.EventsTotal, Cleared: in.Cleared,
		SysmonStops: in.SysmonStops, SysmonConfigs: in.SysmonConfigs, SysmonErrors: in.SysmonErrors, Untracked: in.Untracked}
	for _, g := range in.Gaps {
		t.Gaps = append(t.Gaps, g.RecordGap)
	}
	for _, g := range in.Reversed {
		t.Reversed = append(t.Reversed, g.RecordGap)
	}
	for _, j := range in.Backwards {
		t.Backwards = append(t.Backwards, TimeJump{j.Computer, j.Channel, j.RecordID, j.Offset, parse(j.Time), parse(j.Latest)})
	}
	for _, e := range in.Events {
		t.Events = append(t.Events, LogEvent{e.Sign, e.Computer, e.Channel, e.EventID, e.RecordID, e.Offset, parse(e.Time),
			e.Recovered, e.Detail})
	}
	return nil
}

// MaxTamperListed bounds each list of a Tamper; the rest are counted.
const MaxTamperListed = 16

// TimeSlack is how far an event's time may lie before the latest time of
// its sequence without being a sign: providers log slightly out of order,
// a clock set back goes further.
const TimeSlack = time.Minute

// maxSequences bounds the record id sequences (channel and computer)
// followed per file.
const maxSequences = 256

// maxLogDetail bounds a LogEvent's Detail, in bytes of evidence text.
const maxLogDetail = 300

// seqKey names a sequence of record ids.
type seqKey struct{ computer, channel string }

// sequence follows one sequence of record ids.
type sequence struct {
	key              seqKey
	first, prev      uint64
	firstOff         int64
	latest           time.Time
	wrapped, started bool
	// recovered counts the carved records of the sequence read since its
	// last live one, with ids above it: a damaged chunk's records, in
	// their place.
	recovered uint64
}

// TamperScan gathers the Tamper of one file from its events, in the order
// a parser.Reader delivers them. Its cost per event is a few comparisons
// (and a map lookup when the channel or computer changes); its memory is
// bounded by maxSequences and MaxTamperListed.
type TamperScan struct {
	t       Tamper
	seqs    map[seqKey]*sequence
	last    *sequence
	prevNum uint64 // the file's record number of the previous live record
	numSeen bool
	// wrapAt is the record number at which the file's numbering stepped
	// back (0: not yet): the wrap of a circular log.
	wrapAt uint64
	hosts  []string
	nHosts int
}

// NewTamperScan returns a scan of an empty file.
func NewTamperScan() *TamperScan { return &TamperScan{seqs: make(map[seqKey]*sequence)} }

// Add looks at the next event of the file.
func (s *TamperScan) Add(ev *parser.Event) {
	t := &s.t
	if !ev.Time.IsZero() {
		if t.First.IsZero() || ev.Time.Before(t.First) {
			t.First = ev.Time
		}
		if ev.Time.After(t.Last) {
			t.Last = ev.Time
		}
	}
	s.logEvent(ev)
	if ev.Recovered {
		// Carved: out of their order by nature, counted in Recovered; those
		// of a damaged chunk fill a gap of their sequence where they are.
		if q := s.sequenceOf(ev); q != nil && q.started && ev.RecordID > q.prev {
			q.recovered++
		}
		return
	}
	// The file's own numbering: one step back is the wrap of a circular log.
	renumbered := s.numSeen && ev.RecordNum == s.prevNum+1
	if s.numSeen && ev.RecordNum < s.prevNum && s.wrapAt == 0 {
		s.wrapAt = ev.RecordNum
		t.Wrapped = true
	}
	s.prevNum, s.numSeen = ev.RecordNum, true
	q := s.sequenceOf(ev)
	if q == nil {
		t.Untracked++
		return
	}
	id := ev.RecordID
	switch {
	case !q.started:
		q.started, q.first, q.prev, q.firstOff = true, id, id, ev.Offset
	case id == q.prev+1:
	case id > q.prev:
		g := RecordGap{Computer: q.key.computer, Channel: q.key.channel, After: q.prev, Next: id, Offset: ev.Offset,
			Renumbered: renumbered, Recovered: q.recovered}
		if g.Missing() > 0 {
			s.gap(&t.Gaps, &t.GapsTotal, g)
			t.Missing += g.Missing()
		}
	case t.Wrapped && !q.wrapped && id < q.first:
		// This sequence's part of the wrap: its oldest records follow its
		// newest. Times start again from the oldest.
		q.wrapped = true
		q.latest = time.Time{}
	default:
		s.gap(&t.Reversed, &t.ReversedTotal, RecordGap{Computer: q.key.computer, Channel: q.key.channel, After: q.prev,
			Next: id, Offset: ev.Offset, Renumbered: renumbered})
	}
	q.prev, q.recovered = id, 0
	if ev.Time.IsZero() {
		return
	}
	if !q.latest.IsZero() && q.latest.Sub(ev.Time) > TimeSlack {
		t.BackwardsTotal++
		if len(t.Backwards) < MaxTamperListed {
			t.Backwards = append(t.Backwards, TimeJump{Computer: q.key.computer, Channel: q.key.channel, RecordID: id,
				Offset: ev.Offset, Time: ev.Time, Latest: q.latest})
		}
	}
	if ev.Time.After(q.latest) {
		q.latest = ev.Time
	}
}

// gap records a break in a list bounded by MaxTamperListed.
func (s *TamperScan) gap(list *[]RecordGap, total *int, g RecordGap) {
	*total++
	if len(*list) < MaxTamperListed {
		*list = append(*list, g)
	}
}

// sequenceOf returns ev's sequence, nil when maxSequences are followed
// already.
func (s *TamperScan) sequenceOf(ev *parser.Event) *sequence {
	if q := s.last; q != nil && q.key.computer == ev.Computer && q.key.channel == ev.Channel {
		return q
	}
	k := seqKey{ev.Computer, ev.Channel}
	q := s.seqs[k]
	if q == nil {
		if len(s.seqs) >= maxSequences {
			return nil
		}
		q = &sequence{key: k}
		s.seqs[k] = q
		s.addHost(ev.Computer)
	}
	s.last = q
	return q
}

// MaxSourceHosts bounds Source.Hosts.
const MaxSourceHosts = 64

func (s *TamperScan) addHost(h string) {
	for _, x := range s.hosts {
		if x == h {
			return
		}
	}
	s.nHosts++
	if len(s.hosts) < MaxSourceHosts {
		s.hosts = append(s.hosts, h)
	}
}

// Hosts returns the computers the file's events name (the first
// MaxSourceHosts, in the order they came) and how many there are.
func (s *TamperScan) Hosts() ([]string, int) { return append([]string(nil), s.hosts...), s.nHosts }

// The event log's channels and Sysmon's.
const (
	chSecurity    = "Security"
	chSystem      = "System"
	chSysmon      = "Microsoft-Windows-Sysmon/Operational"
	provEventlog  = "Microsoft-Windows-Eventlog"
	sysmonStopped = "Stopped"
)

// logEvent records ev when it tells of tampering: Security 1102 (the
// audit log cleared) and System 104 (another log cleared), both from the
// Microsoft-Windows-Eventlog provider; Sysmon 16 (its configuration
// changed), 4 with State Stopped (the service stopped) and 255 (an error,
// such as its driver failing).
func (s *TamperScan) logEvent(ev *parser.Event) {
	var sign TamperSign
	var detail string
	switch ev.EventID {
	case 1102:
		if !strings.EqualFold(ev.Channel, chSecurity) || !strings.EqualFold(ev.Provider, provEventlog) {
			return
		}
		sign, detail = SignLogCleared, "Security log cleared"+by(ev)
	case 104:
		if !strings.EqualFold(ev.Channel, chSystem) || !strings.EqualFold(ev.Provider, provEventlog) {
			return
		}
		what := field(ev, "Channel")
		if what == "" {
			what = "a"
		}
		sign, detail = SignLogCleared, what+" log cleared"+by(ev)
		if b := field(ev, "BackupPath"); b != "" {
			detail += ", backup " + b
		}
	case 16, 4, 255:
		if !strings.EqualFold(ev.Channel, chSysmon) {
			return
		}
		switch ev.EventID {
		case 16:
			sign, detail = SignSysmonConfig, joinFields(ev, "Configuration", "ConfigurationFileHash")
		case 4:
			if !strings.EqualFold(field(ev, "State"), sysmonStopped) {
				return
			}
			sign, detail = SignSysmonStopped, joinFields(ev, "Version", "SchemaVersion")
		default:
			sign, detail = SignSysmonError, joinFields(ev, "ID", "Description")
		}
	default:
		return
	}
	t := &s.t
	t.EventsTotal++
	switch sign {
	case SignLogCleared:
		t.Cleared++
	case SignSysmonStopped:
		t.SysmonStops++
	case SignSysmonConfig:
		t.SysmonConfigs++
	default:
		t.SysmonErrors++
	}
	if len(t.Events) < MaxTamperListed {
		t.Events = append(t.Events, LogEvent{Sign: sign, Computer: ev.Computer, Channel: ev.Channel, EventID: ev.EventID,
			RecordID: ev.RecordID, Offset: ev.Offset, Time: ev.Time, Recovered: ev.Recovered,
			Detail: cutText(detail, maxLogDetail)})
	}
}

// by says who did it: " by DOMAIN\user" from the Subject fields, or "".
func by(ev *parser.Event) string {
	u, d := field(ev, "SubjectUserName"), field(ev, "SubjectDomainName")
	switch {
	case u == "":
		return ""
	case d == "":
		return " by " + u
	}
	return " by " + d + `\` + u
}

// joinFields gives the named fields present as "Name=value, …".
func joinFields(ev *parser.Event, names ...string) string {
	var parts []string
	for _, n := range names {
		if v, ok := ev.Field(n); ok && v != "" {
			parts = append(parts, n+"="+v)
		}
	}
	return strings.Join(parts, ", ")
}

// Result is the file's Tamper once every event was added; st is what its
// Reader found (header flags, chunks, records).
func (s *TamperScan) Result(st parser.Stats) *Tamper {
	t := s.t
	t.Dirty, t.Full, t.Chunks = st.Dirty, st.Full, st.Chunks
	t.Records, t.Recovered = st.Records, st.Recovered
	// A sequence that wrapped should run on from its newest record to its
	// oldest: a hole there is records lost around the wrap.
	seqs := slices.SortedFunc(maps.Values(s.seqs), func(a, b *sequence) int {
		return cmp.Or(strings.Compare(a.key.computer, b.key.computer), strings.Compare(a.key.channel, b.key.channel))
	})
	for _, q := range seqs {
		if q.wrapped && q.first > q.prev+1 {
			t.Missing += q.first - q.prev - 1
			s.gap(&t.Gaps, &t.GapsTotal, RecordGap{Computer: q.key.computer, Channel: q.key.channel, After: q.prev,
				Next: q.first, Offset: q.firstOff, Wrap: true})
		}
	}
	t.Gaps = append([]RecordGap(nil), t.Gaps...)
	t.Reversed = append([]RecordGap(nil), t.Reversed...)
	t.Backwards = append([]TimeJump(nil), t.Backwards...)
	t.Events = append([]LogEvent(nil), t.Events...)
	return &t
}

// cutText cuts s to at most n bytes at a character boundary, marking the
// cut with "…".
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// TamperLines says where t's signs are, one line each, in the order
// Signs gives them: the log events, the gaps, the reversed ids and the
// time jumps (the listed ones, then how many more), then records
// recovered. The lines hold evidence text: callers clean them for a
// terminal.
func TamperLines(t *Tamper) []string {
	if t == nil {
		return nil
	}
	var out []string
	at := func(off int64) string { return "offset 0x" + strconv.FormatInt(off, 16) }
	more := func(listed, total int, what string) {
		if n := total - listed; n > 0 {
			out = append(out, fmt.Sprintf("… %d more %s", n, what))
		}
	}
	where := func(computer, channel string) string {
		if computer == "" {
			return channel
		}
		return channel + " on " + computer
	}
	for _, e := range t.Events {
		s := fmt.Sprintf("%s: %s %d, record %d at %s, %s", e.Sign.Title(), e.Channel, e.EventID, e.RecordID, at(e.Offset),
			lineTime(e.Time))
		if e.Detail != "" {
			s += " — " + e.Detail
		}
		if e.Recovered {
			s += " (recovered)"
		}
		out = append(out, s)
	}
	more(len(t.Events), t.EventsTotal, "log events")
	for _, g := range t.Gaps {
		s := fmt.Sprintf("gap: %s, record ids %d → %d (%d missing) at %s", where(g.Computer, g.Channel), g.After, g.Next,
			g.Missing(), at(g.Offset))
		if g.Recovered > 0 {
			s += fmt.Sprintf(" (%d more recovered from the damaged chunk)", g.Recovered)
		}
		switch {
		case g.Wrap:
			s += "; around the wrap (newest to oldest record)"
		case g.Renumbered:
			s += "; the file's record numbers run on: missing before it was written (a filtered export?)"
		}
		out = append(out, s)
	}
	more(len(t.Gaps), t.GapsTotal, "gaps")
	for _, g := range t.Reversed {
		out = append(out, fmt.Sprintf("ids go back: %s, record id %d after %d at %s", where(g.Computer, g.Channel), g.Next,
			g.After, at(g.Offset)))
	}
	more(len(t.Reversed), t.ReversedTotal, "reversed ids")
	for _, j := range t.Backwards {
		out = append(out, fmt.Sprintf("time goes back: %s, record %d at %s: %s, %s before %s", where(j.Computer, j.Channel),
			j.RecordID, at(j.Offset), lineTime(j.Time), j.Latest.Sub(j.Time).Round(time.Second), lineTime(j.Latest)))
	}
	more(len(t.Backwards), t.BackwardsTotal, "time jumps")
	if t.Recovered > 0 {
		out = append(out, fmt.Sprintf("%d record%s recovered from slack space or damaged chunks", t.Recovered, map[bool]string{true: "", false: "s"}[t.Recovered == 1]))
	}
	if t.Untracked > 0 {
		out = append(out, fmt.Sprintf("%d events of channels beyond the %d followed: their ids and times were not checked",
			t.Untracked, maxSequences))
	}
	return out
}

// lineTime is a time as TamperLines writes it.
func lineTime(t time.Time) string {
	if t.IsZero() {
		return "no time"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
