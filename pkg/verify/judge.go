package verify

import (
	"fmt"
	"time"

	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/vuln"
)

// ClockSkew is how far past the gate's clock an attestation's finish time
// may lie and still count: the clocks of a scanner and of the gate differ a
// little. A finish time further ahead is a violation (check attestation),
// and such an attestation never counts as the newest for maxAge: otherwise a
// scan dated in the future would stay "fresh" for as long as its date says.
const ClockSkew = 5 * time.Minute

// judge applies what depends on the run (now) and on the image repository
// to every verified attestation of one rule. It runs on every call, also for
// cached attestations. The rule for several attestations:
//
//   - each one finished more than ClockSkew after now is a violation;
//   - maxAge is met by the newest one that is not from the future; with none
//     dated, maxAge cannot be shown to hold, a violation;
//   - every verified scan not older than maxAge (an undated or future one
//     included: it cannot be shown to be stale) is judged, all together: a
//     denied finding in any of them fails the image.
func (v *Verifier) judge(r *attRule, atts []*verifiedAtt, subject, digest, repo string, now time.Time) []gate.Finding {
	var out []gate.Finding
	add := func(check string, sev gate.Severity, msg string) {
		out = append(out, gate.Finding{Check: check, Subject: gate.ImageSubject(subject), Message: msg, Severity: sev})
	}
	latest := now.Add(ClockSkew)
	var newest *verifiedAtt
	undated := 0
	var judged []*vuln.Scan
	for _, va := range atts {
		switch {
		case va.Finished.IsZero():
			undated++
		case va.Finished.After(latest):
			add(gate.CheckAttestation, gate.SeverityViolation, fmt.Sprintf(
				"attestation %q (%s, %s) on %s says it finished at %s, %s after the gate's time %s, beyond the %s clock-skew allowance: an attestation from the future is not fresh",
				r.policy.Name, va.PredicateType, va.Where, digest, va.Finished.UTC().Format(time.RFC3339),
				va.Finished.Sub(now).Round(time.Second), now.UTC().Format(time.RFC3339), ClockSkew))
		case newest == nil || va.Finished.After(newest.Finished):
			newest = va
		}
		stale := r.maxAge > 0 && !va.Finished.IsZero() && now.Sub(va.Finished) > r.maxAge
		if va.Scan != nil && !stale {
			judged = append(judged, va.Scan)
		}
	}
	if r.maxAge > 0 {
		switch {
		case newest == nil && undated > 0:
			add(gate.CheckAttestation, gate.SeverityViolation, fmt.Sprintf(
				"attestation %q on %s: no verified attestation of type %s says when it finished (%d undated), so none can be shown to be within maxAge %s",
				r.policy.Name, digest, r.policy.Type, undated, r.policy.MaxAge))
		case newest != nil && now.Sub(newest.Finished) > r.maxAge:
			add(gate.CheckAttestation, gate.SeverityViolation, fmt.Sprintf(
				"attestation %q (%s) on %s: %s finished %s, %s ago, older than maxAge %s",
				r.policy.Name, newest.PredicateType, digest, newestOf(len(atts), newest.Where),
				newest.Finished.UTC().Format(time.RFC3339), now.Sub(newest.Finished).Round(time.Minute), r.policy.MaxAge))
		}
	}
	if len(judged) > 0 && r.policy.Vulnerabilities != nil {
		res := vuln.Evaluate(vuln.Merge(judged...), r.policy.Vulnerabilities, repo, now)
		if res.Denied {
			msg := fmt.Sprintf("attestation %q on %s: %s", r.policy.Name, digest, res.Message)
			if len(judged) > 1 {
				msg += fmt.Sprintf(" (%d verified scans judged together)", len(judged))
			}
			add(gate.CheckVulnerabilities, gate.SeverityViolation, msg)
		}
		for _, w := range res.Warnings {
			add(gate.CheckVulnerabilities, gate.SeverityWarning, fmt.Sprintf("attestation %q: %s", r.policy.Name, w))
		}
	}
	return out
}

func newestOf(n int, where string) string {
	if n == 1 {
		return "the attestation (" + where + ")"
	}
	return fmt.Sprintf("the newest of %d verified attestations (%s)", n, where)
}
