package output

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"unicode"

	"github.com/security-gate/security-gate/pkg/gate"
)

// SARIF 2.1.0 identifiers. The schema URI is the one OASIS publishes for the
// approved errata, which is what SARIF consumers key on.
const (
	sarifVersion   = "2.1.0"
	sarifSchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// InformationURI is the project's home, shown by SARIF viewers.
	InformationURI = "https://github.com/security-gate/security-gate"
)

// The subset of the SARIF object model this tool emits. Field names and
// nesting follow the SARIF 2.1.0 schema; optional fields are omitted when
// empty because the schema forbids null for most of them.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	Properties  map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	Name                 string       `json:"name"`
	ShortDescription     sarifMessage `json:"shortDescription"`
	DefaultConfiguration sarifConfig  `json:"defaultConfiguration"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level      string              `json:"level"`
	Message    sarifMessage        `json:"message"`
	Descriptor *sarifDescriptorRef `json:"descriptor,omitempty"`
	Locations  []sarifLocation     `json:"locations,omitempty"`
}

type sarifDescriptorRef struct {
	ID string `json:"id"`
}

type sarifResult struct {
	RuleID     string          `json:"ruleId"`
	RuleIndex  int             `json:"ruleIndex"`
	Level      string          `json:"level"`
	Message    sarifMessage    `json:"message"`
	Locations  []sarifLocation `json:"locations,omitempty"`
	Properties map[string]any  `json:"properties,omitempty"`
	// Suppressions is set on findings VEX dropped (notes.go).
	Suppressions []sarifSuppression `json:"suppressions,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
}

type sarifArtifactLocation struct {
	URI string `json:"uri"`
}

type sarifLogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// SARIF writes the report as a SARIF 2.1.0 log with one run. Rules are every
// check id of the contract (plus any other id a finding uses). Violations and
// undecided findings are results of level "error", warnings of level
// "warning"; what could not be decided is also a tool execution notification
// and makes the invocation unsuccessful, so a viewer cannot mistake it for a
// clean run. Each result's location is a logical location naming the subject.
func SARIF(w io.Writer, r *gate.Report, toolVersion string) error {
	return SARIFWith(w, r, Options{ToolVersion: toolVersion})
}

// SARIFWith is SARIF with Options: opts.Locate adds the input file of each
// subject as a physical location.
func SARIFWith(w io.Writer, r *gate.Report, opts Options) error {
	n := normalize(r)
	toolVersion := opts.ToolVersion
	locations := func(subject gate.Subject) []sarifLocation { return subjectLocations(subject, opts.Locate) }

	driver := sarifDriver{Name: "security-gate", Version: toolVersion, InformationURI: InformationURI}
	index := map[string]int{}
	addRule := func(id, name, desc string) {
		index[id] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRule{
			ID: id, Name: name,
			ShortDescription:     sarifMessage{Text: desc},
			DefaultConfiguration: sarifConfig{Level: "error"},
		})
	}
	for _, rl := range rules {
		addRule(rl.id, rl.name, rl.description)
	}

	run := sarifRun{Results: []sarifResult{}}
	inv := sarifInvocation{ExecutionSuccessful: n.Verdict != gate.VerdictError}
	for _, f := range all(&n) {
		if _, ok := index[f.Check]; !ok {
			addRule(f.Check, ruleName(f.Check), "Check "+f.Check+".")
		}
		level := "error"
		if f.Severity == gate.SeverityWarning {
			level = "warning"
		}
		res := sarifResult{
			RuleID:    f.Check,
			RuleIndex: index[f.Check],
			Level:     level,
			Message:   sarifMessage{Text: sarifText(f)},
			Locations: locations(f.Subject),
			Properties: map[string]any{
				"severity": string(f.Severity),
			},
		}
		if f.Task != "" {
			res.Properties["task"] = f.Task
		}
		run.Results = append(run.Results, res)
		if f.Severity == gate.SeverityError {
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
				Level:      "error",
				Message:    sarifMessage{Text: sarifText(f)},
				Descriptor: &sarifDescriptorRef{ID: f.Check},
				Locations:  locations(f.Subject),
			})
		}
	}
	suppressed, notes := sarifNotes(&n, index, addRule, locations)
	run.Results = append(run.Results, suppressed...)
	inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, notes...)
	run.Tool = sarifTool{Driver: driver}
	run.Invocations = []sarifInvocation{inv}
	run.Properties = map[string]any{
		"verdict": string(n.Verdict),
		"summary": n.Summary,
	}
	if len(n.VerifiedImages) > 0 {
		run.Properties["verifiedImages"] = n.VerifiedImages
	}

	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: sarifSchemaURI, Version: sarifVersion, Runs: []sarifRun{run}})
}

// sarifText is the result message. SARIF viewers show the message without
// the location, so the subject is repeated in it.
func sarifText(f gate.Finding) string {
	if f.Subject.IsZero() {
		return f.Message
	}
	return f.Subject.String() + ": " + f.Message
}

func subjectLocations(subject gate.Subject, locate func(gate.Subject) (string, bool)) []sarifLocation {
	if subject.IsZero() {
		return nil
	}
	name := subject.String()
	loc := sarifLocation{LogicalLocations: []sarifLogicalLocation{{
		Name: name, FullyQualifiedName: name, Kind: "resource",
	}}}
	if locate != nil {
		if file, ok := locate(subject); ok && file != "" {
			loc.PhysicalLocation = &sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: fileURI(file)}}
		}
	}
	return []sarifLocation{loc}
}

// fileURI turns a path into a SARIF artifact URI: relative paths stay
// relative (resolved against the checkout by code-scanning tools), with
// forward slashes and percent-escaping.
func fileURI(file string) string {
	u := url.URL{Path: filepath.ToSlash(file)}
	if filepath.IsAbs(file) {
		u.Scheme = "file"
	}
	return u.String()
}

// ruleName turns a check id such as "image-digest" into "ImageDigest".
func ruleName(id string) string {
	out := make([]rune, 0, len(id))
	up := true
	for _, r := range id {
		if r == '-' || r == '_' || r == ' ' {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		out = append(out, r)
	}
	return string(out)
}
