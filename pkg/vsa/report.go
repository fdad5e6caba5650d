package vsa

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/transient"
)

// writeConcurrency bounds the images summarised at once.
const writeConcurrency = 4

// Pass is what a gate knows about a pass it may summarise.
type Pass struct {
	Policy PolicyRef
	// Mode is the policy's mode: a Warn policy passes with violations
	// demoted to warnings, which no summary may call PASSED.
	Mode       v1alpha1.Mode
	VerifierID string
	Version    string
	Now        time.Time
}

// Summarize writes a summary for every image rep verified, when rep is a
// pass (or a pass with warnings) of an Enforce policy, and records what it
// wrote as notes. A summary that cannot be written is an error finding
// (check verification-summary): the caller asked for summaries, and the
// report must not claim a pass that did not deliver them. Anything else (a
// failed verdict, mode Warn, no image) writes nothing and says why in a
// note when there was something to summarise.
func Summarize(ctx context.Context, w *Writer, rep *gate.Report, p Pass) {
	if rep == nil || w == nil {
		return
	}
	if v := gate.Decide(rep); v != gate.VerdictPass && v != gate.VerdictWarn {
		return
	}
	if len(rep.VerifiedImages) == 0 {
		return
	}
	if p.Mode == v1alpha1.ModeWarn {
		rep.Notes = append(rep.Notes, gate.Note{Check: gate.CheckVerificationSummary, Subject: gate.TextSubject(p.Policy.String()),
			Message: "no verification summary written: the policy's mode is Warn, whose pass may hide violations, and a summary says PASSED"})
		gate.SortNotes(rep.Notes)
		return
	}
	type result struct {
		written []Written
		err     error
	}
	images := append([]string(nil), rep.VerifiedImages...)
	sort.Strings(images)
	results := make([]result, len(images))
	sem := make(chan struct{}, writeConcurrency)
	var wg sync.WaitGroup
	for i, img := range images {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i].written, results[i].err = summarizeOne(ctx, w, img, rep.Evidence[img], p)
		}()
	}
	wg.Wait()
	for i, img := range images {
		r := results[i]
		if r.err != nil {
			rep.Errors = append(rep.Errors, gate.Finding{Check: gate.CheckVerificationSummary, Subject: gate.ImageSubject(img), Severity: gate.SeverityError, Transient: transient.Is(r.err),
				Message: fmt.Sprintf("could not decide: the pass of %s could not be recorded as a verification summary: %v", p.Policy, r.err)})
			continue
		}
		var parts []string
		for _, wr := range r.written {
			s := fmt.Sprintf("%s layout at %s (%s)", wr.Layout, wr.Location, wr.Digest)
			if wr.Replaced > 0 {
				s += fmt.Sprintf(", replacing %d earlier", wr.Replaced)
			}
			if len(wr.Left) > 0 {
				s += "; earlier summaries left in place: " + strings.Join(wr.Left, ", ")
			}
			parts = append(parts, s)
		}
		rep.Notes = append(rep.Notes, gate.Note{Check: gate.CheckVerificationSummary, Subject: gate.ImageSubject(img), Message: fmt.Sprintf(
			"verification summary written (%s, policy %s, %d input attestations): %s", PredicateType, p.Policy, len(rep.Evidence[img]), strings.Join(parts, "; "))})
	}
	gate.SortNotes(rep.Notes)
	if len(rep.Errors) > 0 {
		rep.Verdict = gate.Decide(rep)
	}
}

func summarizeOne(ctx context.Context, w *Writer, img string, evidence []gate.Evidence, p Pass) ([]Written, error) {
	d, err := name.NewDigest(img)
	if err != nil {
		return nil, err
	}
	inputs := make([]Input, 0, len(evidence))
	for _, e := range evidence {
		inputs = append(inputs, Input{URI: e.URI, Digest: e.Digest})
	}
	st, err := Build(img, p.Policy, p.VerifierID, p.Version, p.Now, inputs)
	if err != nil {
		return nil, err
	}
	return w.Attach(ctx, d, st)
}
