package triage

import (
	"encoding/csv"
	"io"

	"github.com/evtriage/evtriage/internal/termsafe"
)

// formulaStarts are the first characters that make a spreadsheet read a
// cell as a formula (CSV injection): such a cell is prefixed with "'".
const formulaStarts = "=+-@\t\r"

// csvCell makes a flat value a CSV cell: terminal-safe (termsafe.Clean:
// control characters as visible escapes, so a row is one line), and never
// a formula.
func csvCell(v flatValue) string {
	s := termsafe.Clean(v.String())
	if s != "" && containsByte(formulaStarts, s[0]) {
		s = "'" + s
	}
	return s
}

func containsByte(set string, c byte) bool {
	for i := 0; i < len(set); i++ {
		if set[i] == c {
			return true
		}
	}
	return false
}

// writeCSV writes the findings as a CSV timeline: RFC 4180 (quoted where
// needed, CRLF line ends), UTF-8 without a byte order mark, a header row
// of the column names (flatNames), then one row per finding in the order
// given. Rows are written as they are made.
func (x *exporter) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	row := make([]string, numFlatColumns)
	copy(row, flatNames[:])
	if err := cw.Write(row); err != nil {
		return err
	}
	prov := x.provenance()
	for _, f := range x.findings {
		fl := x.flat(f, &prov)
		for i, v := range fl.cols {
			row[i] = csvCell(v)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
