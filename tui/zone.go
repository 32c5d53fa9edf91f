package tui

import (
	"strings"
	"time"
)

// zone is the time zone the screen shows times in (Config.Location, the
// --tz flag): UTC unless the user names another. Only what is drawn
// changes; filters, sorting and exports work in absolute time (exports
// stay UTC).
type zone struct{ loc *time.Location }

// isUTC reports whether times are shown in UTC.
func (z zone) isUTC() bool { return z.loc == nil || z.loc == time.UTC || z.loc.String() == "UTC" }

// in returns t in the zone.
func (z zone) in(t time.Time) time.Time {
	if z.isUTC() {
		return t.UTC()
	}
	return t.In(z.loc)
}

// name is the zone as the status bar names it: "UTC", "Europe/Berlin",
// "local".
func (z zone) name() string {
	switch {
	case z.isUTC():
		return "UTC"
	case z.loc == time.Local || z.loc.String() == "Local":
		return "local"
	}
	return z.loc.String()
}

// short is the zone's name in the compact status bar: its last part
// ("Berlin").
func (z zone) short() string {
	n := z.name()
	return n[strings.LastIndexByte(n, '/')+1:]
}

// format formats t in the zone with layout; "" for the zero time.
func (z zone) format(t time.Time, layout string) string {
	if t.IsZero() {
		return ""
	}
	return z.in(t).Format(layout)
}

// full is a time as the detail pane shows it, to the millisecond, with its
// zone: "2019-05-12 18:35:05.000 UTC", or in another zone its offset and
// abbreviation and the time in UTC beside it ("2019-05-12 20:35:05.000
// +02:00 CEST · 18:35:05 UTC"); "–" for the zero time.
func (z zone) full(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	if z.isUTC() {
		return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
	}
	lt := z.in(t)
	s := lt.Format("2006-01-02 15:04:05.000 -07:00")
	if abbr := lt.Format("MST"); abbr != "" && abbr[0] != '+' && abbr[0] != '-' {
		s += " " + abbr
	}
	return s + " · " + t.UTC().Format("15:04:05 UTC")
}

// clock is a time of day: "15:04:05", "--:--:--" for the zero time.
func (z zone) clock(t time.Time) string {
	if t.IsZero() {
		return "--:--:--"
	}
	return z.in(t).Format("15:04:05")
}
