package vuln

import (
	"fmt"
	"math"
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// cvssRating is the qualitative severity of one CVSS base score.
type cvssRating struct {
	severity Severity
	// score is the base score, version the CVSS version it was computed
	// for ("" for a bare number), for messages.
	score   float64
	version string
}

func (r cvssRating) String() string {
	if r.version == "" {
		return fmt.Sprintf("CVSS %.1f", r.score)
	}
	return fmt.Sprintf("CVSS %s %.1f", r.version, r.score)
}

// ratingOfScore rates a base score on the CVSS v3.x/v4.0 qualitative scale
// (Critical >= 9.0, High >= 7.0, Medium >= 4.0, Low >= 0.1, None 0; None is
// NEGLIGIBLE here). ok is false outside [0, 10].
func ratingOfScore(score float64, version string) (cvssRating, bool) {
	// v3.1 and v4.0 define the same scale; the library's v3.1 table is used
	// for bare numbers, whose version is not known.
	if math.IsNaN(score) {
		return cvssRating{}, false
	}
	rate := gocvss31.Rating
	if version == "4.0" {
		rate = gocvss40.Rating
	}
	word, err := rate(score)
	if err != nil {
		return cvssRating{}, false
	}
	sev, _ := NormalizeSeverity(word)
	return cvssRating{severity: sev, score: score, version: version}, true
}

// ratingOfVector computes the base score of a CVSS vector (v2.0, v3.0, v3.1
// or v4.0) with go-cvss and rates it. ok is false for anything that is not a
// valid vector.
func ratingOfVector(vector string) (cvssRating, bool) {
	v := strings.TrimSpace(vector)
	var (
		score   float64
		version string
	)
	switch {
	case strings.HasPrefix(v, "CVSS:4.0/"):
		c, err := gocvss40.ParseVector(v)
		if err != nil {
			return cvssRating{}, false
		}
		base, err := cvss40Base(c)
		if err != nil {
			return cvssRating{}, false
		}
		score, version = base.Score(), "4.0"
	case strings.HasPrefix(v, "CVSS:3.1/"):
		c, err := gocvss31.ParseVector(v)
		if err != nil {
			return cvssRating{}, false
		}
		score, version = c.BaseScore(), "3.1"
	case strings.HasPrefix(v, "CVSS:3.0/"):
		c, err := gocvss30.ParseVector(v)
		if err != nil {
			return cvssRating{}, false
		}
		score, version = c.BaseScore(), "3.0"
	default:
		// v2 vectors carry no prefix; some producers add one or wrap the
		// vector in parentheses.
		v = strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(v, "("), ")"), "CVSS:2.0/")
		c, err := gocvss20.ParseVector(v)
		if err != nil {
			return cvssRating{}, false
		}
		score, version = c.BaseScore(), "2.0"
	}
	return ratingOfScore(score, version)
}

// cvss40Metrics are CVSS v4.0's base metrics: the base score is the score
// of a vector with only these (threat and environmental metrics change the
// v4.0 score, and a policy judges the base rating).
var cvss40Metrics = []string{"AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"}

func cvss40Base(c *gocvss40.CVSS40) (*gocvss40.CVSS40, error) {
	parts := []string{"CVSS:4.0"}
	for _, m := range cvss40Metrics {
		v, err := c.Get(m)
		if err != nil {
			return nil, err
		}
		parts = append(parts, m+":"+v)
	}
	return gocvss40.ParseVector(strings.Join(parts, "/"))
}

// severityVote collects the CVSS data of one finding and keeps the worst
// rating. CVSS v2 defines no qualitative scale: a v2 score is rated on the
// v3 scale, and only when the finding has no v3 or v4 data at all.
type severityVote struct {
	best, legacy *cvssRating
}

func (s *severityVote) add(r cvssRating) {
	slot := &s.best
	if r.version == "2.0" {
		slot = &s.legacy
	}
	if *slot == nil || r.severity.rank() > (*slot).severity.rank() {
		c := r
		*slot = &c
	}
}

// vector adds a vector, ignoring what does not parse.
func (s *severityVote) vector(v string) {
	if r, ok := ratingOfVector(v); ok {
		s.add(r)
	}
}

// score adds a stated base score of a CVSS version ("" when unknown; "2",
// "2.0" mark v2), ignoring a nil or out-of-range one.
func (s *severityVote) score(f *float64, version string) {
	if f == nil {
		return
	}
	version = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(version)), "v")
	if version == "2" {
		version = "2.0"
	}
	if r, ok := ratingOfScore(*f, version); ok {
		s.add(r)
	}
}

// result returns the rating to use, if the finding had any CVSS data.
func (s *severityVote) result() (cvssRating, bool) {
	switch {
	case s.best != nil:
		return *s.best, true
	case s.legacy != nil:
		return *s.legacy, true
	}
	return cvssRating{}, false
}

// wordOrCVSS is a finding's severity: the scanner's own word when it names a
// severity, else the rating of its CVSS data, else UNKNOWN. from says where
// a CVSS-derived severity came from ("" for a word).
func wordOrCVSS(word string, vote *severityVote) (sev Severity, from string) {
	if s, ok := NormalizeSeverity(word); ok && s != SeverityUnknown {
		return s, ""
	}
	if r, ok := vote.result(); ok {
		return r.severity, r.String()
	}
	return SeverityUnknown, ""
}
