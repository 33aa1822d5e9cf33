package gateway

import (
	"strings"
	"time"
)

// Times: every moment this package returns is a time.Time in UTC, the zero
// time when Ksher did not say; every calendar day (a settlement's days) is
// a time.Time at 00:00 UTC of that date, of which only the date counts.
// Nothing outside this package reads Ksher's time strings. Ksher writes
// most of them without a zone, so each field's zone is decided here, once:
//
//   - v3 time_end (orders, payment links, charges, notifications) and
//     refund_time: Thailand time, ICT. Source 001's order_query sample has
//     time_end "2020-06-23 18:28:31" in an envelope stamped
//     "2020-06-23T19:28:34.761046+08:00", i.e. three seconds later in
//     Bangkok (API.md A.4). refund_time has the same form and is taken to
//     be in the same zone (UNCONFIRMED).
//   - v3 time_stamp of the envelope: ISO 8601 with its offset (+08:00); not
//     returned. Requests are stamped in ICT (the format is free, A.2).
//   - v3 get_settlement_info begin_date, end_date, settlement_date,
//     transfer_date: dates ("2020-08-19").
//   - vip order_date: UTC (UNCONFIRMED by API.md; no SDK parses it). Both
//     published query answers agree: "2021-07-20 11:12:34.361921" for
//     mc_1626779481 (Unix time 1626779481 = 11:11:21 UTC) with reserved1
//     "2107201812342741" (18:12:34 in Bangkok), and
//     "2022-05-10 05:20:58.062563" for an order whose acquirer number
//     90020220510132055822835 is 13:20:55 China time (05:20:55 UTC). The
//     sandbox writes UTC too. On a refund record it is the refund's time.
//   - vip transaction_time (transaction and settlement-order reports) and
//     the settlement summary's time: ICT, like v3's local times and the
//     daily cut-off "in Thai time" (API.md E.4); UNCONFIRMED, no SDK parses
//     them. start and end of the summary are dates.
//
// A value that carries its own offset (RFC 3339) is read in that offset
// whatever the field. A value that does not parse is the zero time.

// ICT is Indochina Time (UTC+07:00, no daylight saving), the zone of
// Ksher's zone-less local times above. It is a fixed zone, so it needs no
// time zone database.
var ICT = time.FixedZone("ICT", 7*3600)

// ksherLayouts are the zone-less forms Ksher writes, most common first; a
// fractional second is optional in each.
var ksherLayouts = []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", time.DateOnly}

// ksherTime reads a Ksher time string written in loc (ICT or UTC, per the
// field, see Times) and returns it in UTC; "" and unreadable text (vip
// writes "False" for an empty field) are the zero time.
func ksherTime(s string, loc *time.Location) time.Time {
	s = strings.TrimSpace(s)
	if s == "" || s == "False" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	for _, layout := range ksherLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// ictTime reads a field Ksher writes in Thailand time.
func ictTime(m map[string]any, key string) time.Time { return ksherTime(str(m, key), ICT) }

// utcTime reads a field Ksher writes in UTC (vip order_date).
func utcTime(m map[string]any, key string) time.Time { return ksherTime(str(m, key), time.UTC) }

// ksherDate reads a calendar day ("2020-08-19", or the date of a longer
// time written in Thailand time) as 00:00 UTC of that date; "" is zero.
func ksherDate(m map[string]any, key string) time.Time {
	s := strings.TrimSpace(str(m, key))
	if s == "" || s == "False" {
		return time.Time{}
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t
	}
	if t := ksherTime(s, ICT); !t.IsZero() {
		return dateOf(t.In(ICT))
	}
	return time.Time{}
}

// dateOf is 00:00 UTC of t's date in t's own location.
func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
