package handlers

import (
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// FuzzParseOrderFilter feeds the orders filter any query that passes the
// boundary (web's cleanInput: UTF-8 without NUL, 2 KiB a value) and checks
// that what reaches the database is what it accepts: known sorts, page
// sizes, statuses and mids, channels of their pattern, non-negative amounts
// in order, a range that is not empty, text without NUL; that each problem
// names a filter field left out of the canonical query; and that the
// canonical query is a fixed point, parsing to the same filter.
func FuzzParseOrderFilter(f *testing.F) {
	for _, q := range []string{"", "from=2024-01-01&to=2024-01-31&status=paid&status=paid&channel=promptpay&min=1,000.50&max=20&q=ORD&sort=amount_asc&per=50",
		"from=2024-02-30&to=2024-01-01&min=5&max=1&status=bogus&channel=Pay%20Now&mid=mch35001&mid=evil&per=1000",
		"from=9999-12-31&to=0000-01-01&min=92,233,720,368,547,758.07&max=1e3&q=%20%20x%20&sort=oldest&after=abc"} {
		f.Add(q, uint8(0))
		f.Add(q, uint8(3))
	}
	mids := []string{"mch35000", "mch35001"}
	bangkok, _ := time.LoadLocation("Asia/Bangkok")
	locs := []*time.Location{time.UTC, bangkok, time.FixedZone("-12", -12*3600)}
	f.Fuzz(func(t *testing.T, raw string, opts uint8) {
		q, _ := url.ParseQuery(raw)
		for k, vs := range q {
			for _, v := range append(vs, k) {
				if len(v) > maxQueryValue || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
					return // refused at the boundary
				}
			}
		}
		cur := []string{"THB", "JPY", "KWD"}[int(opts)%3]
		loc, all := locs[int(opts/3)%len(locs)], opts&0x80 != 0
		parse := func(q url.Values) (models.OrderFilter, url.Values, models.Problems) {
			return parseOrderFilter(q, &views.OrderListVM{Currency: cur, All: all}, slices.Clone(mids), loc)
		}
		fl, canon, probs := parse(q)
		check(t, fl, mids)
		for k := range probs {
			if !slices.Contains(listKeys, k) || canon.Has(k) {
				t.Fatalf("problem %q: not a filter field, or kept in the canonical query %v", k, canon)
			}
		}
		again, canon2, probs2 := parse(canon)
		again.After, again.Before = fl.After, fl.Before // cursors are not part of the filter's query
		if len(probs2) > 0 || !reflect.DeepEqual(again, fl) || canon2.Encode() != canon.Encode() {
			t.Fatalf("canonical query %q is not a fixed point: %+v (%v) vs %+v", canon.Encode(), again, probs2, fl)
		}
	})
}

// maxQueryValue mirrors web's bound on a query value.
const maxQueryValue = 2 << 10

func check(t *testing.T, f models.OrderFilter, mids []string) {
	t.Helper()
	if !slices.Contains(models.Sorts, f.Sort) || !slices.Contains(models.PageSizes, f.Limit) {
		t.Fatalf("sort %q, limit %d", f.Sort, f.Limit)
	}
	if len(f.Mids) == 0 || slices.ContainsFunc(f.Mids, func(m string) bool { return !slices.Contains(mids, m) }) {
		t.Fatalf("mids %v, not among %v", f.Mids, mids)
	}
	for _, s := range f.Statuses {
		if !slices.Contains(models.OrderStatuses, s) {
			t.Fatalf("status %q", s)
		}
	}
	for _, c := range f.Channels {
		if !channelRe.MatchString(c) {
			t.Fatalf("channel %q", c)
		}
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		t.Fatalf("empty range %v to %v", f.From, f.To)
	}
	for _, p := range []*time.Time{f.From, f.To} {
		if p != nil && p.Location() != time.UTC {
			t.Fatalf("bound %v is not UTC", p)
		}
	}
	if (f.MinAmount != nil && *f.MinAmount < 0) || (f.MaxAmount != nil && *f.MaxAmount < 0) ||
		(f.MinAmount != nil && f.MaxAmount != nil && *f.MinAmount > *f.MaxAmount) {
		t.Fatalf("amounts %v, %v", f.MinAmount, f.MaxAmount)
	}
	if f.Text != strings.TrimSpace(f.Text) || strings.ContainsRune(f.Text, 0) || !utf8.ValidString(f.Text) {
		t.Fatalf("text %q", f.Text)
	}
}
