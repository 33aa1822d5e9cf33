package gateway

import (
	"testing"
	"time"
)

func TestKsherTime(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		name string
		in   string
		loc  *time.Location
		want time.Time
	}{
		// API.md A.4, source 001: time_end three seconds before an envelope
		// stamped 19:28:34+08:00, so 18:28:31 in Bangkok.
		{"v3 time_end is Thailand time", "2020-06-23 18:28:31", ICT, utc(2020, 6, 23, 11, 28, 31, 0)},
		{"vip order_date is UTC, microseconds kept", "2021-07-20 11:12:34.361921", time.UTC, utc(2021, 7, 20, 11, 12, 34, 361921000)},
		{"ICT across midnight", "2024-01-01 03:00:00", ICT, utc(2023, 12, 31, 20, 0, 0, 0)},
		{"a T separator", "2024-01-01T12:00:00", time.UTC, utc(2024, 1, 1, 12, 0, 0, 0)},
		{"an offset wins over the field's zone", "2020-06-23T19:28:34.761046+08:00", ICT, utc(2020, 6, 23, 11, 28, 34, 761046000)},
		{"surrounding spaces", " 2024-01-01 12:00:00 ", time.UTC, utc(2024, 1, 1, 12, 0, 0, 0)},
		{"empty is zero", "", ICT, time.Time{}},
		{"vip False is zero", "False", time.UTC, time.Time{}},
		{"garbage is zero", "yesterday", ICT, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ksherTime(tt.in, tt.loc)
			if !got.Equal(tt.want) {
				t.Errorf("ksherTime(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if !got.IsZero() && got.Location() != time.UTC {
				t.Errorf("ksherTime(%q) is in %v, want UTC", tt.in, got.Location())
			}
		})
	}
}

func TestKsherDate(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want time.Time
	}{
		{"a date", "2020-08-19", time.Date(2020, 8, 19, 0, 0, 0, 0, time.UTC)},
		// vip's settlement time: its date in Thailand, not in UTC.
		{"the Thai date of a time", "2024-01-02 02:00:00", time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
		{"empty", "", time.Time{}},
		{"absent", nil, time.Time{}},
		{"not a date", "soon", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]any{}
			if tt.in != nil {
				m["d"] = tt.in
			}
			if got := ksherDate(m, "d"); !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ksherDate(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
