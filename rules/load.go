package rules

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/evtriage/evtriage/internal/infile"
)

//go:embed builtin/*.yml
var builtinFS embed.FS

// maxRuleFile bounds the size of one rule file and of the rules
// configuration; larger files are refused.
const maxRuleFile = 16 << 20

// maxDocuments bounds the YAML documents read from one file.
const maxDocuments = 10000

// LoadOptions says which rules Load reads.
type LoadOptions struct {
	NoBuiltin bool     // leave out the built-in regsvr32 pack
	Paths     []string // rule files or folders (recursive, *.yml/*.yaml)
	Config    string   // optional YAML: placeholders for |expand, logsource table overrides
	// NoPrefilter evaluates every rule a bucket holds instead of only those
	// the prefilter lets through. Results are the same, only slower; it
	// exists to check exactly that.
	NoPrefilter bool
}

// Set is a loaded, compiled and indexed rule collection. It is safe for
// concurrent use by several goroutines.
type Set struct {
	rules    []*Rule
	rejected []Rejection
	skipped  []Rejection

	fields   []string
	fieldIdx map[string]int
	aliased  []*aliasedField // by field id: set for the fields of value aliases

	table    []logsourceEntry
	exact    map[srcKey]*bucket
	wild     map[string]*bucket // channel (lower-case) -> rules for every event ID
	anyExact map[uint32]*bucket // event ID -> rules for that ID in every channel
	anyWild  *bucket            // rules for every event of every channel (nil: none)

	corrByRef map[*Rule][]*Rule
	pool      sync.Pool

	files []string // SHA-256 (hex) of every file read: pack, rules, configuration
}

// srcKey indexes rules by channel and event ID.
type srcKey struct {
	channel string // lower-case
	eventID uint32
}

// bucket is the rules one kind of event can meet, with their prefilter.
type bucket struct {
	refs []ruleRef
	gate *gateIndex
}

// ruleRef is a rule under one logsource entry (which fixes field renames).
type ruleRef struct {
	rule  *Rule
	entry *logsourceEntry
}

// Rules returns the loaded rules: the built-in pack first, then by file and
// line.
func (s *Set) Rules() []*Rule { return s.rules }

// Rejected returns the refused files and documents.
func (s *Set) Rejected() []Rejection { return s.rejected }

// Skipped returns what was left out without being wrong: a file's copy of
// a built-in rule (same id), for which the built-in copy is used, and
// rule files that hold no YAML document.
func (s *Set) Skipped() []Rejection { return s.skipped }

// Digest identifies the rule set by what was read: "sha256:" and the
// SHA-256 of the sorted SHA-256s of every file Load read (the built-in
// pack's files, the rule files, the rules configuration), refused ones
// included. It depends on the files' contents only, not on their paths or
// the order they were named in, so the same rules copied to another
// machine give the same digest; a changed byte in any file changes it.
func (s *Set) Digest() string {
	hs := slices.Clone(s.files)
	sort.Strings(hs)
	sum := sha256.Sum256([]byte(strings.Join(hs, "\n")))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// read records data as a file of the set (Digest).
func (s *Set) read(data []byte) []byte {
	sum := sha256.Sum256(data)
	s.files = append(s.files, hex.EncodeToString(sum[:]))
	return data
}

// doc is one YAML document waiting to be compiled.
type doc struct {
	path    string
	line    int
	builtin bool
	node    *yaml.Node
}

// Load reads, validates and compiles rules. It never fails as a whole:
// each unreadable file or refused document becomes a Rejection.
func Load(opts LoadOptions) *Set {
	s := &Set{fieldIdx: make(map[string]int)}
	ph, table, err := loadConfig(opts.Config, s.read)
	if err != nil {
		s.reject(opts.Config, 0, err.Error())
	}
	s.table = table
	var docs []doc
	if !opts.NoBuiltin {
		ents, _ := fs.ReadDir(builtinFS, "builtin")
		for _, e := range ents {
			data, err := builtinFS.ReadFile("builtin/" + e.Name())
			if err != nil {
				s.reject("builtin:"+e.Name(), 0, err.Error())
				continue
			}
			docs = s.readDocs(docs, "builtin:"+e.Name(), s.read(data), true)
		}
	}
	for _, p := range expandPaths(opts.Paths, s) {
		data, err := readBounded(p)
		if err != nil {
			s.reject(p, 0, err.Error())
			continue
		}
		docs = s.readDocs(docs, p, s.read(data), false)
	}
	s.compileAll(docs, ph)
	if opts.NoPrefilter {
		for _, r := range s.rules {
			if r.compiled != nil {
				r.compiled.gateOK = false
			}
		}
	}
	s.buildIndex()
	s.pool.New = func() any { return newEvalCtx(s) }
	return s
}

// readBounded reads a rule or configuration file: a regular file of at
// most maxRuleFile bytes (a pipe or device is refused at once).
func readBounded(p string) ([]byte, error) {
	data, err := infile.ReadAll(p, maxRuleFile)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return data, nil
}

func (s *Set) reject(path string, line int, reason string) {
	s.rejected = append(s.rejected, Rejection{Path: path, Line: line, Reason: reason})
}

// expandPaths lists the rule files under paths: files as given, folders
// searched recursively for *.yml and *.yaml, sorted.
func expandPaths(paths []string, s *Set) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			s.reject(p, 0, fmt.Sprintf("rules: %v", err))
			continue
		}
		if !fi.IsDir() {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
			continue
		}
		var found []string
		_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				s.reject(q, 0, fmt.Sprintf("rules: %v", err))
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			n := strings.ToLower(d.Name())
			if d.Type().IsRegular() && (strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".yaml")) {
				found = append(found, q)
			}
			return nil
		})
		sort.Strings(found)
		for _, f := range found {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// readDocs splits a file into its YAML documents, refusing a document
// that writes a key twice in one map, and applies the file's rule
// collection actions (see collection).
func (s *Set) readDocs(docs []doc, path string, data []byte, builtin bool) []doc {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	before := len(docs)
	var coll collection
	actions := 0
	for n := 0; ; n++ {
		if n >= maxDocuments {
			s.reject(path, 0, fmt.Sprintf("more than %d YAML documents", maxDocuments))
			return docs
		}
		var node yaml.Node
		err := decodeSafe(dec, &node)
		if errors.Is(err, io.EOF) {
			if len(docs) == before && actions == 0 {
				s.skipped = append(s.skipped, Rejection{Path: path, Reason: "the file holds no YAML document"})
			}
			return docs
		}
		if err != nil {
			line := 0
			if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
				line, _ = strconv.Atoi(m[1])
			}
			s.reject(path, line, "invalid YAML: "+err.Error())
			return docs
		}
		if node.Kind == yaml.DocumentNode && len(node.Content) == 1 {
			root := node.Content[0]
			if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
				continue // an empty document ("---" at the end of a file)
			}
			if k, first := duplicateKey(root, 0); k != nil {
				s.reject(path, k.Line, fmt.Sprintf("duplicate key %q (first at line %d): YAML keys of a map must differ", k.Value, first.Line))
				if root.Kind == yaml.MappingNode {
					coll.refused(root)
				}
				continue
			}
			if root.Kind == yaml.MappingNode {
				if mapGet(root, "action") != nil {
					actions++
				}
				rule, err := coll.apply(root)
				if err != nil {
					s.rejectErr(doc{path: path, line: root.Line}, err)
					continue
				}
				if rule == nil {
					continue // an action document
				}
				root = rule
			}
			docs = append(docs, doc{path: path, line: node.Content[0].Line, builtin: builtin, node: root})
		}
	}
}

// decodeSafe decodes one document, turning a decoder panic into an error.
func decodeSafe(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml decoder failed: %v", r)
		}
	}()
	return dec.Decode(n)
}

// mapGet returns the value node of key in a mapping node.
func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return resolveAlias(m.Content[i+1])
		}
	}
	return nil
}

func scalarString(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return "", false
	}
	return n.Value, true
}

func stringList(n *yaml.Node) ([]string, error) {
	if n == nil {
		return nil, nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, errAt(n, "expected a list of strings")
	}
	var out []string
	for _, c := range n.Content {
		c = resolveAlias(c)
		if c.Kind != yaml.ScalarNode {
			return nil, errAt(c, "expected a list of strings")
		}
		out = append(out, c.Value)
	}
	return out, nil
}

// pending holds documents compiled in the first pass that refer to other
// rules (correlations and filters), resolved in the second.
type pending struct {
	d      doc
	rule   *Rule // correlation rule
	corr   *yaml.Node
	filter *globalFilter
	refs   []string
}

// compileAll compiles every document, then resolves correlations and
// filters, which may refer to rules anywhere in the collection.
func (s *Set) compileAll(docs []doc, ph map[string][]string) {
	cc := &compileCtx{placeholders: ph, intern: s.intern}
	byRef := map[string]*Rule{}
	var later []pending
	for _, d := range docs {
		cc.values = 0
		if d.node.Kind != yaml.MappingNode {
			s.reject(d.path, d.line, "a rule document must be a map")
			continue
		}
		switch {
		case mapGet(d.node, "correlation") != nil:
			r, err := ruleMeta(d)
			if err != nil {
				s.rejectErr(d, err)
				continue
			}
			later = append(later, pending{d: d, rule: r, corr: mapGet(d.node, "correlation")})
		case mapGet(d.node, "filter") != nil:
			f, refs, err := compileFilterDoc(cc, d)
			if err != nil {
				s.rejectErr(d, err)
				continue
			}
			later = append(later, pending{d: d, filter: f, refs: refs})
		default:
			r, err := s.compileRule(cc, d)
			if err != nil {
				s.rejectErr(d, err)
				continue
			}
			if r.ID != "" {
				if prev, dup := byRef[r.ID]; dup {
					if prev.Builtin && !r.Builtin {
						s.skipped = append(s.skipped, Rejection{Path: d.path, Line: d.line,
							Reason: fmt.Sprintf("same id as built-in rule %s (%s); the built-in copy is used", r.ID, prev.Path)})
						continue
					}
					s.reject(d.path, d.line, fmt.Sprintf("duplicate rule id %s (first in %s:%d)", r.ID, prev.Path, prev.Line))
					continue
				}
				byRef[r.ID] = r
			}
			if r.Name != "" {
				if prev, dup := byRef[r.Name]; dup && prev != r {
					s.reject(d.path, d.line, fmt.Sprintf("duplicate rule name %s (first in %s:%d)", r.Name, prev.Path, prev.Line))
					continue
				}
				byRef[r.Name] = r
			}
			s.rules = append(s.rules, r)
		}
	}
	// Correlations may reference correlations: resolve until no progress.
	s.corrByRef = map[*Rule][]*Rule{}
	for progress := true; progress; {
		progress = false
		rest := later[:0]
		for _, p := range later {
			if p.rule == nil {
				rest = append(rest, p)
				continue
			}
			c, missing, err := compileCorrelation(p.corr, byRef)
			if err == nil && missing != "" {
				rest = append(rest, p)
				continue
			}
			progress = true
			if err != nil {
				s.rejectErr(p.d, err)
				continue
			}
			p.rule.Correlation = c
			if p.rule.ID != "" {
				if _, dup := byRef[p.rule.ID]; dup {
					s.reject(p.d.path, p.d.line, "duplicate rule id "+p.rule.ID)
					continue
				}
				byRef[p.rule.ID] = p.rule
			}
			if p.rule.Name != "" {
				byRef[p.rule.Name] = p.rule
			}
			s.rules = append(s.rules, p.rule)
		}
		later = rest
	}
	stuck := map[string]*pending{} // correlations whose references never resolved, by id and name
	for i := range later {
		if r := later[i].rule; r != nil {
			for _, ref := range []string{r.ID, r.Name} {
				if ref != "" {
					stuck[ref] = &later[i]
				}
			}
		}
	}
	for _, p := range later {
		if p.rule != nil {
			s.reject(p.d.path, p.d.line, unresolvedReason(p, stuck, byRef))
			continue
		}
		var targets []*Rule
		var missing string
		if len(p.refs) == 0 { // rules: any / all / []: every rule of the logsource
			for _, r := range s.rules {
				if r.compiled != nil && p.filter.covers(r.Logsource) {
					targets = append(targets, r)
				}
			}
		}
		for _, ref := range p.refs {
			r, ok := byRef[ref]
			if !ok || r.compiled == nil {
				missing = ref
				break
			}
			if !p.filter.covers(r.Logsource) {
				s.skipped = append(s.skipped, Rejection{Path: p.d.path, Line: p.d.line,
					Reason: fmt.Sprintf("filter not applied to rule %s: its logsource is outside the filter's", ref)})
				continue
			}
			targets = append(targets, r)
		}
		if missing != "" {
			s.reject(p.d.path, p.d.line, fmt.Sprintf("filter refers to rule %q, which is not loaded", missing))
			continue
		}
		for _, r := range targets {
			r.compiled.filters = append(r.compiled.filters, p.filter)
			r.idents = append(r.idents, p.filter.ident)
		}
	}
	for _, r := range s.rules {
		if c := r.Correlation; c != nil {
			for _, ref := range c.Rules {
				s.corrByRef[ref] = append(s.corrByRef[ref], r)
				if !c.Generate && ref.Correlation == nil {
					ref.CorrelationOnly = true
				}
			}
		}
	}
	// A rule referenced by any generating correlation is reported too.
	for _, r := range s.rules {
		if c := r.Correlation; c != nil && c.Generate {
			for _, ref := range c.Rules {
				ref.CorrelationOnly = false
			}
		}
	}
	sort.SliceStable(s.rules, func(i, j int) bool {
		a, b := s.rules[i], s.rules[j]
		if a.Builtin != b.Builtin {
			return a.Builtin
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Line < b.Line
	})
	for i, r := range s.rules {
		r.index = i
	}
}

func (s *Set) rejectErr(d doc, err error) {
	line := d.line
	var le *lineError
	if errors.As(err, &le) && le.line > 0 {
		line = le.line
	}
	s.reject(d.path, line, err.Error())
}

// intern returns the id of a field name.
func (s *Set) intern(name string) int {
	if id, ok := s.fieldIdx[name]; ok {
		return id
	}
	id := len(s.fields)
	s.fields = append(s.fields, name)
	s.fieldIdx[name] = id
	return id
}

// ruleMeta reads the metadata every rule document has.
func ruleMeta(d doc) (*Rule, error) {
	n := d.node
	r := &Rule{Path: d.path, Line: d.line, Builtin: d.builtin, Level: LevelInformational}
	title, ok := scalarString(mapGet(n, "title"))
	if !ok || strings.TrimSpace(title) == "" {
		return nil, errAt(n, "rule has no title")
	}
	r.Title = title
	r.ID, _ = scalarString(mapGet(n, "id"))
	r.Name, _ = scalarString(mapGet(n, "name"))
	r.Description, _ = scalarString(mapGet(n, "description"))
	r.Status, _ = scalarString(mapGet(n, "status"))
	if a := mapGet(n, "author"); a != nil {
		if a.Kind == yaml.SequenceNode {
			l, _ := stringList(a)
			r.Author = strings.Join(l, ", ")
		} else {
			r.Author, _ = scalarString(a)
		}
	}
	if lv := mapGet(n, "level"); lv != nil {
		l, ok := ParseLevel(lv.Value)
		if !ok {
			return nil, errAt(lv, "unknown level %q", lv.Value)
		}
		r.Level = l
	}
	var err error
	if r.Tags, err = stringList(mapGet(n, "tags")); err != nil {
		return nil, err
	}
	if r.References, err = stringList(mapGet(n, "references")); err != nil {
		return nil, err
	}
	return r, nil
}

// compileRule compiles a detection rule document.
func (s *Set) compileRule(cc *compileCtx, d doc) (*Rule, error) {
	r, err := ruleMeta(d)
	if err != nil {
		return nil, err
	}
	ls := mapGet(d.node, "logsource")
	if ls == nil || ls.Kind != yaml.MappingNode {
		return nil, errAt(d.node, "rule has no logsource map")
	}
	r.Logsource.Product, _ = scalarString(mapGet(ls, "product"))
	r.Logsource.Category, _ = scalarString(mapGet(ls, "category"))
	r.Logsource.Service, _ = scalarString(mapGet(ls, "service"))
	det := mapGet(d.node, "detection")
	if det == nil {
		return nil, errAt(d.node, "rule has no detection")
	}
	cr, idents, err := compileDetection(cc, det)
	if err != nil {
		return nil, err
	}
	cr.sources = entriesFor(r.Logsource, s.table)
	cr.gate, cr.gateOK = ruleAtoms(cr)
	r.Unmapped = len(cr.sources) == 0
	r.compiled, r.idents = cr, idents
	cr.set = s
	return r, nil
}
