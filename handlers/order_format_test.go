package handlers

import (
	"testing"
	"time"
)

// Times name their zone and its offset from UTC, minutes included where
// the zone has them (Myanmar is +06:30, not +06).
func TestLocalTimeZNamesTheOffset(t *testing.T) {
	at := time.Date(2026, 11, 21, 17, 30, 0, 0, time.UTC)
	for _, tt := range []struct{ zone, want string }{
		{"Asia/Bangkok", "2026-11-22 00:30:00 (Asia/Bangkok, +07)"},
		{"Asia/Yangon", "2026-11-22 00:00:00 (Asia/Yangon, +06:30)"},
		{"Asia/Kathmandu", "2026-11-21 23:15:00 (Asia/Kathmandu, +05:45)"},
		{"UTC", "2026-11-21 17:30:00 (UTC, +00)"},
	} {
		loc, err := time.LoadLocation(tt.zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := localTimeZ(at, loc); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.zone, got, tt.want)
		}
	}
}
