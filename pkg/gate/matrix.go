package gate

import (
	"fmt"
	"sort"
	"strings"

	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// maxMatrixCombinations is Tekton's default max-matrix-combinations-count.
// Tekton rejects a larger matrix unless its limit was raised; the gate
// judges at most this many parameter sets per pipeline task and reports a
// larger matrix as undecided rather than judging a part of it.
const maxMatrixCombinations = 256

// errTooManyCombinations: the matrix has more combinations than the gate
// judges.
type errTooManyCombinations struct{ n int }

func (e errTooManyCombinations) Error() string {
	n := fmt.Sprint(e.n)
	if e.n < 0 {
		n = "more"
	}
	return fmt.Sprintf("the matrix has %s parameter combinations, more than %d (Tekton's default max-matrix-combinations-count): Tekton rejects it unless that limit was raised, and the gate does not judge a part of a matrix",
		n, maxMatrixCombinations)
}

// matrixCombinations returns every parameter set a matrixed pipeline task
// may run with. When every matrix value is known (after the pipeline's
// parameters are applied) it is Tekton's own fan-out. A value that only
// exists at run time (a task result) cannot be expanded: it is passed on as
// written, so an image built from it is reported as image-reference and
// never verified with a guess; and since whether an `include` entry matches
// such a combination is not known either, both outcomes are judged: the
// combination without the entry and with it, and the entry on its own as a
// new combination unless a known value rules that out. The result is a
// superset of what Tekton can run. More sets than maxMatrixCombinations is
// an error.
func matrixCombinations(m *v1.Matrix) ([]v1.Params, error) {
	if m == nil || (!m.HasParams() && !m.HasInclude()) {
		return []v1.Params{nil}, nil
	}
	if matrixKnown(m) {
		if n := m.CountCombinations(); n > maxMatrixCombinations {
			return nil, errTooManyCombinations{n}
		}
		combos := m.FanOut()
		if len(combos) > maxMatrixCombinations {
			return nil, errTooManyCombinations{len(combos)}
		}
		if len(combos) == 0 {
			return []v1.Params{nil}, nil
		}
		return combos, nil
	}
	return symbolicFanOut(m)
}

// matrixKnown: no matrix or include value depends on something only known
// at run time.
func matrixKnown(m *v1.Matrix) bool {
	for _, p := range m.Params {
		if p.Value.Type != v1.ParamTypeArray || paramExpr(p.Value) != "" {
			return false
		}
	}
	for _, inc := range m.Include {
		for _, p := range inc.Params {
			if paramExpr(p.Value) != "" {
				return false
			}
		}
	}
	return true
}

// mvalue is a matrix value: known, or only known at run time (s is then
// the value as written, with its expression).
type mvalue struct {
	s     string
	known bool
}

func newMValue(s string) mvalue { return mvalue{s: s, known: unresolvedExpr(s) == ""} }

// compare compares known values (certain); an unknown value may equal
// anything (not certain).
func (a mvalue) compare(b mvalue) (equal, certain bool) {
	if a.known && b.known {
		return a.s == b.s, true
	}
	return false, false
}

type mcombo map[string]mvalue

func (c mcombo) clone() mcombo {
	out := make(mcombo, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// includeMatch says whether Tekton applies an include entry to a
// combination (every name they share has the same value): yes, no, or
// "maybe" when that depends on a value only known at run time.
func includeMatch(c, inc mcombo) (match, maybe bool) {
	for name, v := range inc {
		cv, ok := c[name]
		if !ok {
			continue
		}
		switch eq, certain := cv.compare(v); {
		case certain && !eq:
			return false, false
		case !certain:
			maybe = true
		}
	}
	return true, maybe
}

// apply adds an include entry's values to a combination it matched. Shared
// names keep their value (they are equal), except that a value known only
// at run time takes the entry's known value: in the world where the entry
// matched, that is what it is.
func (c mcombo) apply(inc mcombo) {
	for name, v := range inc {
		if cv, ok := c[name]; ok && (cv.known || !v.known) {
			continue
		}
		c[name] = v
	}
}

// symbolicFanOut is Tekton's fan-out (v1.Matrix.FanOut) over values some of
// which are only known at run time, forking wherever the outcome depends on
// one of those. See matrixCombinations.
func symbolicFanOut(m *v1.Matrix) ([]v1.Params, error) {
	// An array whose length is unknown (a whole array result) may be empty,
	// which leaves no combination for include entries to match.
	lengthUnknown := false
	var axes [][]mvalue
	names := make([]string, 0, len(m.Params))
	count := 1
	for _, p := range m.Params {
		var vals []mvalue
		if p.Value.Type == v1.ParamTypeArray {
			for _, s := range p.Value.ArrayVal {
				vals = append(vals, newMValue(s))
			}
		} else {
			lengthUnknown = true
			vals = []mvalue{{s: paramString(p.Value), known: false}}
		}
		if len(vals) == 0 {
			// Tekton's fan-out over an empty array depends on the order of
			// the params; judge the others, and every include on its own.
			lengthUnknown = true
			continue
		}
		count *= len(vals)
		if count > maxMatrixCombinations {
			return nil, errTooManyCombinations{-1}
		}
		names = append(names, p.Name)
		axes = append(axes, vals)
	}
	var base []mcombo
	if len(axes) > 0 {
		base = []mcombo{{}}
		for i, vals := range axes {
			var next []mcombo
			for _, c := range base {
				for _, v := range vals {
					n := c.clone()
					n[names[i]] = v
					next = append(next, n)
				}
			}
			base = next
		}
	}
	includes := make([]mcombo, 0, len(m.Include))
	for _, inc := range m.Include {
		c := mcombo{}
		for _, p := range inc.Params {
			c[p.Name] = newMValue(paramString(p.Value))
		}
		includes = append(includes, c)
	}
	var out []mcombo
	for _, b := range base {
		worlds := []mcombo{b}
		for _, inc := range includes {
			var next []mcombo
			for _, w := range worlds {
				match, maybe := includeMatch(w, inc)
				switch {
				case !match:
					next = append(next, w)
				case maybe:
					with := w.clone()
					with.apply(inc)
					next = append(next, w, with)
				default:
					w.apply(inc)
					next = append(next, w)
				}
			}
			worlds = next
			if len(out)+len(worlds) > maxMatrixCombinations {
				return nil, errTooManyCombinations{-1}
			}
		}
		out = append(out, worlds...)
	}
	for _, inc := range includes {
		if len(inc) == 0 {
			continue
		}
		if !lengthUnknown && len(base) > 0 && ruledOutAlone(base, inc) {
			continue
		}
		out = append(out, inc.clone())
	}
	return toParams(out)
}

// ruledOutAlone: Tekton adds an include entry as a combination of its own
// only when no combination shares a name with it at the same value; a base
// combination with a known equal value rules that out.
func ruledOutAlone(base []mcombo, inc mcombo) bool {
	for _, c := range base {
		for name, v := range inc {
			if cv, ok := c[name]; ok {
				if eq, certain := cv.compare(v); certain && eq {
					return true
				}
			}
		}
	}
	return false
}

// toParams renders the combinations as params sorted by name (as Tekton's
// FanOut does), without duplicates, within the bound.
func toParams(combos []mcombo) ([]v1.Params, error) {
	seen := map[string]bool{}
	var out []v1.Params
	for _, c := range combos {
		keys := make([]string, 0, len(c))
		for k := range c {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ps v1.Params
		var id strings.Builder
		for _, k := range keys {
			ps = append(ps, v1.Param{Name: k, Value: *v1.NewStructuredValues(c[k].s)})
			fmt.Fprintf(&id, "%q=%q;", k, c[k].s)
		}
		if seen[id.String()] {
			continue
		}
		seen[id.String()] = true
		out = append(out, ps)
	}
	if len(out) > maxMatrixCombinations {
		return nil, errTooManyCombinations{len(out)}
	}
	if len(out) == 0 {
		return []v1.Params{nil}, nil
	}
	return out, nil
}

// paramString is a param value as one string: the string, or for an array
// or object the first expression it holds (what makes it unknown).
func paramString(v v1.ParamValue) string {
	if v.Type == v1.ParamTypeString || v.Type == "" {
		return v.StringVal
	}
	if e := paramExpr(v); e != "" {
		return e
	}
	return fmt.Sprint(v)
}
