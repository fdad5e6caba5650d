package customrun

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// MeterName is the OpenTelemetry meter of the controller. knative's
// sharedmain installs the global MeterProvider from config-observability
// (Prometheus or OTLP export), which is what otel.GetMeterProvider returns.
const MeterName = "github.com/security-gate/security-gate/pkg/reconciler/customrun"

// CacheStats reports the verification cache's counters (hits, misses).
type CacheStats func() (hits, misses int64)

type metrics struct {
	latency  metric.Float64Histogram
	verdicts metric.Int64Counter
}

func newMetrics(mp metric.MeterProvider, stats CacheStats) (*metrics, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(MeterName)
	latency, err := m.Float64Histogram("securitygate.verification.duration",
		metric.WithDescription("Time one verification attempt took, by verdict"),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
	if err != nil {
		return nil, err
	}
	verdicts, err := m.Int64Counter("securitygate.verdicts",
		metric.WithDescription("Gate runs ended, by condition reason"),
		metric.WithUnit("{run}"))
	if err != nil {
		return nil, err
	}
	if stats != nil {
		hits, err := m.Int64ObservableCounter("securitygate.cache.hits",
			metric.WithDescription("Verification cache lookups answered from the cache"))
		if err != nil {
			return nil, err
		}
		misses, err := m.Int64ObservableCounter("securitygate.cache.misses",
			metric.WithDescription("Verification cache lookups that went to the registry"))
		if err != nil {
			return nil, err
		}
		if _, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
			h, ms := stats()
			o.ObserveInt64(hits, h)
			o.ObserveInt64(misses, ms)
			return nil
		}, hits, misses); err != nil {
			return nil, err
		}
	}
	return &metrics{latency: latency, verdicts: verdicts}, nil
}

func (m *metrics) observeAttempt(ctx context.Context, verdict string, d time.Duration) {
	if m == nil {
		return
	}
	m.latency.Record(ctx, d.Seconds(), metric.WithAttributes(attribute.String("verdict", verdict)))
}

func (m *metrics) observeOutcome(ctx context.Context, reason string) {
	if m == nil {
		return
	}
	m.verdicts.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", reason)))
}
