package views

import (
	"context"
	"time"
)

// Moment is an instant with the zone it is shown in. For a mid's data the
// zone is the mid's account's (handlers build it so, row by row on /m/all);
// for what is about no mid (one's sign-ins, the audit log, the footer off
// mid pages) it is the configured TIME_ZONE. Like Money, views turn it into
// text only with its methods: nothing else formats a time for display.
type Moment struct {
	T    time.Time
	Zone *time.Location // nil shows UTC
}

// IsZero reports whether there is no moment (a time never reached: not
// paid, never asked). Its texts are then "".
func (m Moment) IsZero() bool { return m.T.IsZero() }

func (m Moment) local() time.Time {
	if m.Zone == nil {
		return m.T.UTC()
	}
	return m.T.In(m.Zone)
}

// Local is the wall-clock time to the second, "2026-11-22 10:04:05", for
// a table or a line whose heading names the zone.
func (m Moment) Local() string {
	if m.IsZero() {
		return ""
	}
	return m.local().Format(time.DateTime)
}

// String is the time to the second with the zone named and its offset,
// "2026-11-22 10:04:05 (Asia/Bangkok, +07)".
func (m Moment) String() string {
	if m.IsZero() {
		return ""
	}
	return m.Local() + " (" + m.ZoneLabel() + ")"
}

// Minute is the time to the minute with the zone named, "2026-11-22 10:04
// (Asia/Bangkok, +07)": sign-ins and account changes, where seconds are
// noise.
func (m Moment) Minute() string {
	if m.IsZero() {
		return ""
	}
	return m.local().Format("2006-01-02 15:04") + " (" + m.ZoneLabel() + ")"
}

// Day is the local day, "2026-11-22" (also what a date input holds).
func (m Moment) Day() string {
	if m.IsZero() {
		return ""
	}
	return m.local().Format(time.DateOnly)
}

// ZoneName is the zone's name, "Asia/Bangkok", as headings name it.
func (m Moment) ZoneName() string {
	if m.Zone == nil {
		return "UTC"
	}
	return m.Zone.String()
}

// ZoneLabel is the zone's name and its offset from UTC at this moment:
// "Asia/Bangkok, +07", with the minutes where the zone has them
// ("Asia/Yangon, +06:30", "Asia/Kathmandu, +05:45").
func (m Moment) ZoneLabel() string {
	lt := m.local()
	offset := lt.Format("-07")
	if _, off := lt.Zone(); off%3600 != 0 {
		offset = lt.Format("-07:00")
	}
	return m.ZoneName() + ", " + offset
}

// Datetime is the moment for machines, RFC 3339 with the zone's offset
// ("2026-11-22T10:04:05+07:00"): the datetime attribute of <time>.
func (m Moment) Datetime() string {
	if m.IsZero() {
		return ""
	}
	return m.local().Format(time.RFC3339)
}

// In is the text for a page or table whose heading names zone: the local
// time when the moment is in that zone, else the time with its own zone
// named (a mid of another account on /m/all).
func (m Moment) In(zone string) string {
	if m.ZoneName() == zone {
		return m.Local()
	}
	return m.String()
}

// Ago words how long before now the moment was, in the request's language:
// "just now", "42 s ago", "3 min ago", "5 h ago", "2 d ago".
func (m Moment) Ago(ctx context.Context, now time.Time) string {
	return ago(ctx, now.Sub(m.T))
}

// ago words how long ago something happened: "just now", "42 s ago",
// "3 min ago", "5 h ago", "2 d ago".
func ago(ctx context.Context, d time.Duration) string {
	switch {
	case d < 5*time.Second:
		return T(ctx, "orders.ago.now")
	case d < time.Minute:
		return Tf(ctx, "orders.ago.seconds", map[string]any{"N": int(d.Seconds())})
	case d < time.Hour:
		return Tf(ctx, "orders.ago.minutes", map[string]any{"N": int(d.Minutes())})
	case d < 48*time.Hour:
		return Tf(ctx, "orders.ago.hours", map[string]any{"N": int(d.Hours())})
	}
	return Tf(ctx, "orders.ago.days", map[string]any{"N": int(d.Hours() / 24)})
}
