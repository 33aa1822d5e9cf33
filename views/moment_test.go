package views

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Times name their zone and its offset from UTC, minutes included where
// the zone has them (Myanmar is +06:30, not +06); the datetime attribute
// carries the same offset.
func TestMomentNamesTheZone(t *testing.T) {
	at := time.Date(2026, 11, 21, 17, 30, 5, 0, time.UTC)
	for _, tt := range []struct {
		zone                        string
		text, minute, day, datetime string
	}{
		{"Asia/Bangkok", "2026-11-22 00:30:05 (Asia/Bangkok, +07)", "2026-11-22 00:30 (Asia/Bangkok, +07)", "2026-11-22", "2026-11-22T00:30:05+07:00"},
		{"Asia/Yangon", "2026-11-22 00:00:05 (Asia/Yangon, +06:30)", "2026-11-22 00:00 (Asia/Yangon, +06:30)", "2026-11-22", "2026-11-22T00:00:05+06:30"},
		{"Asia/Kathmandu", "2026-11-21 23:15:05 (Asia/Kathmandu, +05:45)", "2026-11-21 23:15 (Asia/Kathmandu, +05:45)", "2026-11-21", "2026-11-21T23:15:05+05:45"},
		{"UTC", "2026-11-21 17:30:05 (UTC, +00)", "2026-11-21 17:30 (UTC, +00)", "2026-11-21", "2026-11-21T17:30:05Z"},
	} {
		t.Run(tt.zone, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			m := Moment{T: at, Zone: loc}
			for _, c := range []struct{ name, got, want string }{
				{"String", m.String(), tt.text},
				{"Minute", m.Minute(), tt.minute},
				{"Day", m.Day(), tt.day},
				{"Datetime", m.Datetime(), tt.datetime},
				{"In own zone", m.In(tt.zone), tt.text[:19]},
				{"In another zone", m.In("Asia/Singapore"), tt.text},
			} {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
				}
			}
		})
	}
}

// No moment has no text, so "never asked" shows as such, not as year 1.
func TestMomentZero(t *testing.T) {
	m := Moment{Zone: time.UTC}
	if !m.IsZero() || m.String() != "" || m.Local() != "" || m.Minute() != "" || m.Day() != "" || m.Datetime() != "" {
		t.Errorf("zero moment = %q %q %q %q %q", m.String(), m.Local(), m.Minute(), m.Day(), m.Datetime())
	}
}

func TestMomentAgo(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	ctx := context.Background() // no translator: message ids
	for _, tt := range []struct {
		before time.Duration
		want   string
	}{
		{2 * time.Second, "orders.ago.now"},
		{42 * time.Second, "orders.ago.seconds"},
		{3 * time.Minute, "orders.ago.minutes"},
		{5 * time.Hour, "orders.ago.hours"},
		{50 * time.Hour, "orders.ago.days"},
	} {
		if got := (Moment{T: now.Add(-tt.before)}).Ago(ctx, now); got != tt.want {
			t.Errorf("%v ago = %q, want %q", tt.before, got, tt.want)
		}
	}
}

// A row in the zone the heading names shows the local time; a row of a mid
// in another zone (on /m/all) names its own. Both carry the instant for
// machines.
func TestWhenNamesAnotherZone(t *testing.T) {
	bkk, _ := time.LoadLocation("Asia/Bangkok")
	sgp, _ := time.LoadLocation("Asia/Singapore")
	at := time.Date(2026, 11, 21, 17, 30, 5, 0, time.UTC)
	for _, tt := range []struct {
		name string
		m    Moment
		want string
	}{
		{"same zone", Moment{T: at, Zone: bkk}, `<time datetime="2026-11-22T00:30:05+07:00">2026-11-22 00:30:05</time>`},
		{"another zone", Moment{T: at, Zone: sgp}, `<time datetime="2026-11-22T01:30:05+08:00">2026-11-22 01:30:05 (Asia/Singapore, +08)</time>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := when(tt.m, "Asia/Bangkok").Render(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("rendered %s, want %s", b.String(), tt.want)
			}
		})
	}
}
