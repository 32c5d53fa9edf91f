package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// artifactPath is the Velociraptor artifact that runs evtriage on clients.
const artifactPath = "contrib/velociraptor/Windows.EventLogs.Evtriage.yaml"

// vrArtifact is what the tests read of a Velociraptor artifact.
type vrArtifact struct {
	Name         string `yaml:"name"`
	Description  string `yaml:"description"`
	Type         string `yaml:"type"`
	Precondition string `yaml:"precondition"`
	Tools        []struct {
		Name         string `yaml:"name"`
		Version      string `yaml:"version"`
		URL          string `yaml:"url"`
		ExpectedHash string `yaml:"expected_hash"`
		ServeLocally bool   `yaml:"serve_locally"`
	} `yaml:"tools"`
	Parameters []struct {
		Name        string   `yaml:"name"`
		Description string   `yaml:"description"`
		Type        string   `yaml:"type"`
		Default     string   `yaml:"default"`
		Choices     []string `yaml:"choices"`
	} `yaml:"parameters"`
	RequiredPermissions []string `yaml:"required_permissions"`
	Sources             []struct {
		Name  string `yaml:"name"`
		Query string `yaml:"query"`
	} `yaml:"sources"`
}

func readArtifact(t *testing.T) *vrArtifact {
	t.Helper()
	data, err := os.ReadFile(artifactPath)
	if err != nil {
		t.Fatal(err)
	}
	var a vrArtifact
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("%s does not parse as YAML: %v", artifactPath, err)
	}
	return &a
}

// queries is the VQL of all sources, comments left out.
func (a *vrArtifact) queries() string {
	var b strings.Builder
	for _, s := range a.Sources {
		for _, l := range strings.Split(s.Query, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				b.WriteString(l + "\n")
			}
		}
	}
	return b.String()
}

// TestVelociraptorArtifact: the artifact is a client artifact for Windows
// that declares evtriage as a tool, fetches it, needs the permissions it
// uses, and uses every parameter it declares.
func TestVelociraptorArtifact(t *testing.T) {
	a := readArtifact(t)
	q := a.queries()
	checks := []struct {
		what string
		ok   bool
	}{
		{"name Windows.EventLogs.Evtriage", a.Name == "Windows.EventLogs.Evtriage"},
		{"type CLIENT", a.Type == "CLIENT"},
		{"a Windows precondition", strings.Contains(a.Precondition, "OS = 'windows'")},
		{"one tool", len(a.Tools) == 1},
		{"EXECVE and FILESYSTEM_WRITE required", strings.Contains(strings.Join(a.RequiredPermissions, ","), "EXECVE") &&
			strings.Contains(strings.Join(a.RequiredPermissions, ","), "FILESYSTEM_WRITE")},
		{"Upload and Results sources", len(a.Sources) == 2 && a.Sources[0].Name == "Upload" && a.Sources[1].Name == "Results"},
		{"the tool fetched by FetchBinary", len(a.Tools) == 1 && strings.Contains(q, `Artifact.Generic.Utils.FetchBinary(ToolName="`+a.Tools[0].Name+`"`)},
		{"execve", strings.Contains(q, "execve(argv=Argv")},
		{"the export uploaded", strings.Contains(q, "upload(file=Output")},
		{"the findings as rows from parse_jsonl", strings.Contains(q, "FROM parse_jsonl(filename=Output)") && strings.Contains(q, "WHERE finding")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("the artifact lacks %s", c.what)
		}
	}
	if len(a.Tools) == 1 {
		tool := a.Tools[0]
		if tool.Name == "" || !strings.HasPrefix(tool.URL, "https://") || !tool.ServeLocally {
			t.Errorf("tool %+v: want a name, an https url, serve_locally", tool)
		}
		// The hash is written when a build is pinned (docs/formats.md); when set it
		// is a SHA-256.
		if h := tool.ExpectedHash; h != "" && !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) {
			t.Errorf("expected_hash %q is not a hex SHA-256", h)
		}
	}
	// docs/formats.md pins a build by rewriting the lines that start so: each
	// must be the tool's, and only one.
	data, _ := os.ReadFile(artifactPath)
	for _, prefix := range []string{"    version: ", "    url: ", "    expected_hash: "} {
		if n := strings.Count("\n"+string(data), "\n"+prefix); n != 1 {
			t.Errorf("%d lines start %q; the pinning step (docs/formats.md) rewrites exactly one", n, prefix)
		}
	}
	want := map[string]string{"EvtxDirectory": "C:/Windows/System32/winevt/Logs", "MinLevel": "", "ExtraRules": "", "NoBuiltin": ""}
	for _, p := range a.Parameters {
		def, ok := want[p.Name]
		if !ok {
			t.Errorf("unexpected parameter %s", p.Name)
			continue
		}
		delete(want, p.Name)
		if def != "" && p.Default != def {
			t.Errorf("%s defaults to %q, want %q", p.Name, p.Default, def)
		}
		if !regexp.MustCompile(`\b` + p.Name + `\b`).MatchString(q) {
			t.Errorf("parameter %s is never used", p.Name)
		}
		if p.Description == "" {
			t.Errorf("parameter %s has no description", p.Name)
		}
	}
	for name := range want {
		t.Errorf("parameter %s missing", name)
	}
	for _, p := range a.Parameters {
		if p.Name != "MinLevel" {
			continue
		}
		if strings.Join(p.Choices, ",") != "informational,low,medium,high,critical" {
			t.Errorf("MinLevel choices %v", p.Choices)
		}
		log := hostileLog(t)
		for _, c := range append(p.Choices, p.Default) {
			if code, _, stderr := runCapture(t, "hunt", "--min-level", c, "--format", "jsonl", "-o", os.DevNull, log); code != exitOK {
				t.Errorf("--min-level %s: exit %d: %s", c, code, stderr)
			}
		}
	}
}

// argvItems returns the items of the artifact's Argv list, as written.
func argvItems(t *testing.T, q string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)LET Argv <= filter\(list=\((.*?)\),\s*regex=`).FindStringSubmatch(q)
	if m == nil {
		t.Fatal("no LET Argv <= filter(list=(…), regex=…) in the artifact")
	}
	var items []string
	depth, start := 0, 0
	body := m[1]
	for i, c := range body {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				items = append(items, strings.TrimSpace(body[start:i]))
				start = i + 1
			}
		}
	}
	items = append(items, strings.TrimSpace(body[start:]))
	var out []string
	for _, it := range items {
		if it != "" {
			out = append(out, it)
		}
	}
	return out
}

var (
	vqlString = regexp.MustCompile(`^"([^"]*)"$`)
	vqlIf     = regexp.MustCompile(`^if\(condition=(\w+), then=(.+)\)$`)
)

// argv evaluates the artifact's Argv list the way VQL does for the subset
// it uses (string literals, variables, if(condition=X, then=Y) and
// filter(regex=".+") dropping empty items), with vars for the variables;
// the binary (the first item) is left out.
func argv(t *testing.T, items []string, vars map[string]string) []string {
	t.Helper()
	var eval func(string) string
	eval = func(it string) string {
		if m := vqlString.FindStringSubmatch(it); m != nil {
			return m[1]
		}
		if m := vqlIf.FindStringSubmatch(it); m != nil {
			c := vars[m[1]]
			if c == "" || c == "N" || c == "false" {
				return ""
			}
			return eval(m[2])
		}
		v, ok := vars[it]
		if !ok {
			t.Fatalf("argv item %q: unknown to the test", it)
		}
		return v
	}
	var out []string
	for _, it := range items[1:] {
		if v := eval(it); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// TestVelociraptorArgv: every flag the artifact passes is one hunt
// accepts (hunt --help lists it), and the argv it builds, run as evtriage
// would be on a client, writes JSON Lines whose finding lines hold every
// field the Results source selects.
func TestVelociraptorArgv(t *testing.T) {
	a := readArtifact(t)
	q := a.queries()
	items := argvItems(t, q)
	if !strings.Contains(items[0], "OSPath") {
		t.Errorf("the first argv item %q is not the fetched binary", items[0])
	}
	code, help, _ := runCapture(t, "hunt", "--help")
	if code != exitOK {
		t.Fatalf("hunt --help: exit %d", code)
	}
	flags := 0
	for _, it := range items {
		for _, m := range regexp.MustCompile(`"(-[^"]*)"`).FindAllStringSubmatch(it, -1) {
			flag := m[1]
			if flag == "--" {
				continue // the end of flags
			}
			flags++
			if !strings.Contains(help, "\n  -"+strings.TrimLeft(flag, "-")+" ") && !strings.Contains(help, "\n  -"+strings.TrimLeft(flag, "-")+"\n") {
				t.Errorf("the artifact passes %s, which hunt --help does not list", flag)
			}
		}
	}
	if flags < 5 {
		t.Errorf("only %d flags found in the artifact's argv", flags)
	}
	if !strings.Contains(q, `"hunt"`) || !strings.Contains(q, `"--format", "jsonl"`) {
		t.Error("the artifact does not run hunt --format jsonl")
	}

	shared := sharedLogs(t)
	rule := filepath.Join(t.TempDir(), "extra.yml")
	extra := `title: any regsvr32 start
id: 7f6e5d4c-0000-4000-8000-00000000abcd
level: high
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\regsvr32.exe'}
  condition: sel
`
	if err := os.WriteFile(rule, []byte(extra), 0o600); err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for _, p := range a.Parameters {
		params[p.Name] = p.Default
	}
	tests := []struct {
		name  string
		set   map[string]string
		rules []string // rule ids that must be among the findings
	}{
		{"defaults", nil, []string{"e23771a3-d2bc-4535-9b97-ab6769c1a38d"}},
		{"extra rules alone", map[string]string{"ExtraRules": extra, "NoBuiltin": "Y", "MinLevel": "high"}, []string{"7f6e5d4c-0000-4000-8000-00000000abcd"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.jsonl")
			if err := os.WriteFile(out, nil, 0o600); err != nil { // as tempfile() leaves it
				t.Fatal(err)
			}
			vars := map[string]string{"Output": out, "EvtxDirectory": shared}
			for k, v := range params {
				if k != "EvtxDirectory" {
					vars[k] = v
				}
			}
			for k, v := range tc.set {
				vars[k] = v
			}
			if vars["ExtraRules"] != "" {
				vars["RulesFile"] = rule
			} else {
				vars["RulesFile"] = ""
			}
			args := argv(t, items, vars)
			code, stdout, stderr := runCapture(t, args...)
			if code != exitOK || stdout != "" {
				t.Fatalf("%v: exit %d, stdout %q, stderr %s", args, code, stdout, stderr)
			}
			checkResultsFields(t, q, out, tc.rules)
		})
	}
}

// checkResultsFields reads the export as the Results source does (the
// lines that have a finding) and checks each finding.… path it selects
// resolves in every finding line (the fields map aside: not every event
// has every field), and that the rules named fired.
func checkResultsFields(t *testing.T, q, path string, rules []string) {
	t.Helper()
	paths := regexp.MustCompile(`\bfinding((?:\.\w+)+)`).FindAllStringSubmatch(q, -1)
	if len(paths) < 8 {
		t.Fatalf("only %d finding fields selected", len(paths))
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	fired := map[string]bool{}
	findings := 0
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		fd, ok := line["finding"].(map[string]any)
		if !ok {
			continue
		}
		findings++
		for _, p := range paths {
			parts := strings.Split(strings.TrimPrefix(p[1], "."), ".")
			var v any = fd
			for i, part := range parts {
				m, ok := v.(map[string]any)
				if !ok {
					t.Fatalf("finding%s: %s is not an object", p[1], strings.Join(parts[:i], "."))
				}
				if _, has := m[part]; !has && !(i > 0 && parts[i-1] == "fields") {
					t.Errorf("finding%s: no %q", p[1], part)
				}
				v = m[part]
			}
		}
		if r, ok := fd["rule"].(map[string]any); ok {
			fired[r["id"].(string)] = true
		}
	}
	if findings == 0 {
		t.Fatal("no finding lines")
	}
	for _, id := range rules {
		if !fired[id] {
			t.Errorf("rule %s did not fire", id)
		}
	}
}
