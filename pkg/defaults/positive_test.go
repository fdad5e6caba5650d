package defaults

import (
	"testing"
	"time"
)

func TestPositive(t *testing.T) {
	for _, tc := range []struct {
		name   string
		v, def time.Duration
		want   time.Duration
	}{
		{"set", time.Second, time.Minute, time.Second},
		{"zero", 0, time.Minute, time.Minute},
		{"negative", -time.Second, time.Minute, time.Minute},
	} {
		if got := Positive(tc.v, tc.def); got != tc.want {
			t.Errorf("%s: Positive(%v, %v) = %v, want %v", tc.name, tc.v, tc.def, got, tc.want)
		}
	}
	if got := Positive(int64(0), int64(4<<20)); got != 4<<20 {
		t.Errorf("Positive(int64 0) = %d, want %d", got, 4<<20)
	}
}
