package triage

import (
	"strconv"
	"time"

	"github.com/evtriage/evtriage/internal/termsafe"
)

// Timesketch's fixed values: what a finding's time means, and the data
// type that tells its analyzers where the events come from.
const (
	timesketchDesc     = "Event Recorded"
	timesketchDataType = "evtriage:finding"
)

// timesketchLayout is Timesketch's datetime: RFC 3339 in UTC to the
// microsecond, the precision of its timestamp.
const timesketchLayout = "2006-01-02T15:04:05.000000Z"

// datable reports whether Timesketch can place t: Windows writes no event
// before 1970, and RFC 3339 has four-digit years.
func datable(t time.Time) bool {
	return !t.IsZero() && t.Year() >= 1970 && t.Year() <= 9999
}

// Undated returns the findings a Timesketch export leaves out because
// their events have no time it can place (none, or before 1970):
// Timesketch drops what it cannot date, so they are not written and the
// caller reports them.
func Undated(findings []*Finding) []*Finding {
	var out []*Finding
	for _, f := range findings {
		if f.Event == nil || f.Event.Event == nil || !datable(f.Event.Event.Time) {
			out = append(out, f)
		}
	}
	return out
}

// writeTimesketch writes one JSON line per dated finding, in the shape
// Timesketch imports (timesketch_importer, the web upload): "message",
// "datetime", "timestamp" (integer microseconds since the epoch),
// "timestamp_desc", "data_type", then the flat record's fields under
// their names (time excepted), typed: numbers as numbers, flags as
// booleans, a field without a value left out. Strings are terminal-safe
// (termsafe.AppendJSONString).
func (x *exporter) writeTimesketch(o *jsonOut) {
	prov := x.provenance()
	var b []byte
	for _, f := range x.findings {
		if o.err != nil {
			return
		}
		fl := x.flat(f, &prov)
		if !datable(fl.time) {
			continue
		}
		t := fl.time.UTC()
		b = append(b[:0], `{"message":`...)
		b = termsafe.AppendJSONString(b, fl.message)
		b = append(b, `,"datetime":"`...)
		b = t.AppendFormat(b, timesketchLayout)
		b = append(b, `","timestamp":`...)
		b = strconv.AppendInt(b, t.UnixMicro(), 10)
		b = append(b, `,"timestamp_desc":"`+timesketchDesc+`","data_type":"`+timesketchDataType+`"`...)
		for i, v := range fl.cols {
			if flatColumn(i) == colTime || v.kind == flatNone {
				continue
			}
			b = append(b, ',')
			b = termsafe.AppendJSONString(b, flatNames[i])
			b = append(b, ':')
			switch v.kind {
			case flatNumber:
				b = strconv.AppendUint(b, v.num, 10)
			case flatBool:
				b = strconv.AppendBool(b, v.num != 0)
			default:
				b = termsafe.AppendJSONString(b, v.text)
			}
		}
		b = append(b, "}\n"...)
		if _, err := o.w.Write(b); err != nil {
			o.err = err
		}
	}
}
