package verify

import (
	"context"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/security-gate/security-gate/pkg/apis/securitygate/v1alpha1"
	"github.com/security-gate/security-gate/pkg/defaults"
	"github.com/security-gate/security-gate/pkg/gate"
	"github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/test/fixture"
)

// benchSetup builds the benchmark world of make bench: a loopback registry with
// 40 distinct images, each signed and carrying a signed vulnerability
// attestation, referenced by a 20-task pipeline (two steps per task).
func benchSetup(b *testing.B, bundles bool) (*v1alpha1.SecurityGateSpec, []runtime.Object, *oci.Client) {
	b.Helper()
	reg := fixture.NewRegistry(b, true)
	key := fixture.NewKey(b)
	ds := fixture.SignedImages(b, reg, key, "bench/img", 40, testNow.Add(-time.Hour), bundles)
	tasks := make([][]string, 20)
	for i := range tasks {
		tasks[i] = []string{ds[2*i].String(), ds[2*i+1].String()}
	}
	spec := &v1alpha1.SecurityGateSpec{
		Authorities: []v1alpha1.Authority{keyAuthority("release", key.PublicPEM)},
		Images:      &v1alpha1.ImagePolicy{RequireDigest: true, Authorities: []string{"release"}},
		Attestations: []v1alpha1.AttestationPolicy{vulnRule("168h", &v1alpha1.VulnerabilityPolicy{
			Deny: []string{"CRITICAL", "HIGH"}})},
	}
	spec.SetDefaults(context.Background())
	if err := spec.Validate(context.Background()); err != nil {
		b.Fatalf("benchmark policy: %v", err)
	}
	c, err := oci.New(oci.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return spec, []runtime.Object{fixture.PipelineWithImages("release", tasks)}, c
}

func benchEngine(b *testing.B, spec *v1alpha1.SecurityGateSpec, c *oci.Client, cache *Cache) *gate.Engine {
	v, err := New(spec, Options{Client: c, Cache: cache, Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	return gate.New(gate.Options{Verifier: v, Now: func() time.Time { return testNow }})
}

func mustPass(b *testing.B, rep *gate.Report) {
	if rep.Verdict != gate.VerdictPass || rep.Summary.Images != 40 {
		b.Fatalf("verdict %s, %d images; violations %+v errors %+v", rep.Verdict, rep.Summary.Images, rep.Violations, rep.Errors)
	}
}

// BenchmarkVerifyWarm: the engine and the verifier on the 40-image,
// 20-task pipeline with a warm verification cache (a controller's steady
// state, or a second run in one process).
func BenchmarkVerifyWarm(b *testing.B) {
	spec, objs, c := benchSetup(b, false)
	cache := NewCache(defaults.CacheSize, time.Hour)
	ctx := context.Background()
	mustPass(b, benchEngine(b, spec, c, cache).Verify(ctx, spec, gate.Input{Objects: objs}))
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		// A new engine and verifier per run, as the controller builds them;
		// only the cache is shared.
		mustPass(b, benchEngine(b, spec, c, cache).Verify(ctx, spec, gate.Input{Objects: objs}))
	}
}

// BenchmarkVerifyCold: the same with an empty cache every run; the
// registry client (transport, puller: one ping per registry) is shared.
func BenchmarkVerifyCold(b *testing.B) {
	for _, layout := range []struct {
		name    string
		bundles bool
	}{{"classic", false}, {"bundles", true}} {
		b.Run(layout.name, func(b *testing.B) {
			spec, objs, c := benchSetup(b, layout.bundles)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			defer reportCPU(b)()
			for i := 0; i < b.N; i++ {
				mustPass(b, benchEngine(b, spec, c, NewCache(defaults.CacheSize, time.Hour)).Verify(ctx, spec, gate.Input{Objects: objs}))
			}
		})
	}
}

// reportCPU adds the process CPU time per operation (user+system, all
// goroutines, the loopback registry included) as "cpu-ms/op": on a shared,
// loaded machine wall time says more about the neighbours than about us.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
