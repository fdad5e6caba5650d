package main

import (
	"sort"
	"testing"

	"knative.dev/pkg/injection"
)

// Every informer the controller needs is linked and started; every other
// linked informer is not (see startedInformers). If a new dependency links a
// new informer, this lists it so the choice is made on purpose.
func TestStartedInformers(t *testing.T) {
	var got, skipped []string
	for _, ii := range injection.Default.GetInformers() {
		n := injectorName(ii)
		if started(n) {
			got = append(got, n)
		} else {
			skipped = append(skipped, n)
		}
	}
	for _, fii := range injection.Default.GetFilteredInformers() {
		n := injectorName(fii)
		if started(n) {
			got = append(got, n)
		} else {
			skipped = append(skipped, n)
		}
	}
	sort.Strings(got)
	if len(got) != len(startedInformers) {
		t.Errorf("started informers %q, want one for each of %q", got, startedInformers)
	}
	for _, s := range skipped {
		t.Logf("linked but not started: %s", s)
	}
}
