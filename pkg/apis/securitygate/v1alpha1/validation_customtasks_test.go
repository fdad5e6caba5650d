package v1alpha1

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestValidateCustomTasks(t *testing.T) {
	approval := CustomTaskKind{APIVersion: "approval.example.dev/v1alpha1", Kind: "ApprovalTask"}
	many := make([]CustomTaskKind, maxCustomTaskKinds+1)
	for i := range many {
		many[i] = CustomTaskKind{APIVersion: "wait.example.dev/v1", Kind: fmt.Sprintf("Wait%d", i)}
	}
	for _, tc := range []struct {
		name  string
		kinds []CustomTaskKind
		want  []string // substrings of the error; none for valid
	}{
		{name: "valid", kinds: []CustomTaskKind{approval, {APIVersion: "wait.testing.tekton.dev/v1beta1", Kind: "Wait"}}},
		{name: "missing apiVersion and kind", kinds: []CustomTaskKind{{}},
			want: []string{"missing field(s): customTasks.noPods[0].apiVersion", "customTasks.noPods[0].kind"}},
		{name: "apiVersion without a version", kinds: []CustomTaskKind{{APIVersion: "approval.example.dev", Kind: "A"}},
			want: []string{"invalid value: approval.example.dev: customTasks.noPods[0].apiVersion"}},
		{name: "a tekton.dev kind", kinds: []CustomTaskKind{{APIVersion: "tekton.dev/v1alpha1", Kind: "Pipeline"}},
			want: []string{"customTasks.noPods[0].apiVersion", "tekton.dev kinds run pods"}},
		{name: "kind that is not a kind name", kinds: []CustomTaskKind{{APIVersion: "a.dev/v1", Kind: "approval task"}},
			want: []string{"customTasks.noPods[0].kind"}},
		{name: "duplicate", kinds: []CustomTaskKind{approval, approval},
			want: []string{"duplicate custom task kind approval.example.dev/v1alpha1 ApprovalTask (first at noPods[0])", "customTasks.noPods[1].apiVersion"}},
		{name: "too many", kinds: many, want: []string{"expected 0 <= 65 <= 64: customTasks.noPods"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &SecurityGateSpec{CustomTasks: &CustomTaskPolicy{NoPods: tc.kinds}}
			err := s.Validate(context.Background())
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRunsNoPods(t *testing.T) {
	var none *CustomTaskPolicy
	if none.RunsNoPods("a.dev/v1", "A") {
		t.Error("a nil policy lists nothing")
	}
	p := &CustomTaskPolicy{NoPods: []CustomTaskKind{{APIVersion: "a.dev/v1", Kind: "A"}}}
	for _, tc := range []struct {
		apiVersion, kind string
		want             bool
	}{{"a.dev/v1", "A", true}, {"a.dev/v2", "A", false}, {"a.dev/v1", "B", false}, {"", "", false}} {
		if got := p.RunsNoPods(tc.apiVersion, tc.kind); got != tc.want {
			t.Errorf("RunsNoPods(%q, %q) = %v, want %v", tc.apiVersion, tc.kind, got, tc.want)
		}
	}
}
