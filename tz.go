package main

// The IANA time zone database, built in (about 450 KB) for --tz: Go finds
// zones in the system's database first, but Windows has none unless Go is
// installed (time.LoadLocation then looks for $GOROOT/lib/time/zoneinfo.zip)
// and minimal containers ship without /usr/share/zoneinfo, which are where
// responders run the tool; without it --tz Europe/Berlin would fail there.
import _ "time/tzdata"
