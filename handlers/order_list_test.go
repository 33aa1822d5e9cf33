package handlers

import (
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// MustZone loads an IANA zone.
func MustZone(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// MustQuery parses a query string.
func MustQuery(tb testing.TB, raw string) url.Values {
	tb.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		tb.Fatalf("ParseQuery(%q): %v", raw, err)
	}
	return q
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	if t.Location() != time.UTC {
		return "not UTC: " + t.String()
	}
	return t.Format(time.RFC3339)
}

func fmtMinor(n *int64) string {
	if n == nil {
		return ""
	}
	return strconv.FormatInt(*n, 10)
}

// filterGot is what a test reads of parseOrderFilter's answer.
type filterGot struct {
	From, To, Min, Max        string
	Statuses, Channels, Mids  []string
	Text, Sort, After, Before string
	Limit                     int
	Canonical                 string
	Errors                    map[string]string
}

func runOrderFilter(tb testing.TB, q url.Values, all bool, mids []string, currency string, loc *time.Location) (filterGot, *views.OrderListVM) {
	tb.Helper()
	vm := &views.OrderListVM{All: all, Currency: currency}
	f, canon, probs := parseOrderFilter(q, vm, mids, loc)
	errs := map[string]string{} // field -> message id
	for field, p := range probs {
		errs[field] = p.ID
	}
	return filterGot{From: fmtTime(f.From), To: fmtTime(f.To), Min: fmtMinor(f.MinAmount), Max: fmtMinor(f.MaxAmount),
		Statuses: f.Statuses, Channels: f.Channels, Mids: f.Mids, Text: f.Text, Sort: f.Sort, After: f.After, Before: f.Before,
		Limit: f.Limit, Canonical: canon.Encode(), Errors: errs}, vm
}

func TestParseOrderFilter(t *testing.T) {
	bangkok, newYork := MustZone(t, "Asia/Bangkok"), MustZone(t, "America/New_York")
	one, three := []string{"M1"}, []string{"M1", "M2", "M3"}
	long := strings.Repeat("9", 30)
	tests := []struct {
		name     string
		query    string
		all      bool
		currency string
		loc      *time.Location
		// Zero Sort, Limit and Mids stand for the defaults: newest, 25 and
		// every mid of the scope; nil Errors for none.
		want filterGot
	}{
		{name: "empty", query: ""},
		{name: "one local day", query: "from=2026-11-22&to=2026-11-22",
			want: filterGot{From: "2026-11-21T17:00:00Z", To: "2026-11-22T17:00:00Z", Canonical: "from=2026-11-22&to=2026-11-22"}},
		{name: "local days across a DST change", query: "from=2026-03-08&to=2026-03-08", loc: newYork,
			want: filterGot{From: "2026-03-08T05:00:00Z", To: "2026-03-09T04:00:00Z", Canonical: "from=2026-03-08&to=2026-03-08"}},
		{name: "open-ended range", query: "to=2026-12-31",
			want: filterGot{To: "2026-12-31T17:00:00Z", Canonical: "to=2026-12-31"}},
		{name: "spaces around days", query: "from=+2026-11-22+&to=%092026-11-23%0A",
			want: filterGot{From: "2026-11-21T17:00:00Z", To: "2026-11-23T17:00:00Z", Canonical: "from=2026-11-22&to=2026-11-23"}},
		{name: "whitespace day is no bound", query: "from=+++",
			want: filterGot{}},
		{name: "bad days", query: "from=2026-02-30&to=22%2F11%2F2026",
			want: filterGot{Errors: map[string]string{"from": "orders.error.date", "to": "orders.error.date"}}},
		{name: "day with a time", query: "from=2026-11-22T00:00:00Z",
			want: filterGot{Errors: map[string]string{"from": "orders.error.date"}}},
		{name: "day with NUL", query: "from=2026-11-22%00",
			want: filterGot{Errors: map[string]string{"from": "orders.error.date"}}},
		{name: "reversed range keeps from", query: "from=2026-11-23&to=2026-11-22",
			want: filterGot{From: "2026-11-22T17:00:00Z", Canonical: "from=2026-11-23", Errors: map[string]string{"to": "orders.error.range"}}},
		{name: "amounts in satang", query: "min=1%2C234.50&max=2000",
			want: filterGot{Min: "123450", Max: "200000", Canonical: "max=2000&min=1%2C234.50"}},
		{name: "exact, not float", query: "min=0.1&max=0.29",
			want: filterGot{Min: "10", Max: "29", Canonical: "max=0.29&min=0.1"}},
		{name: "amount with spaces", query: "min=+5+",
			want: filterGot{Min: "500", Canonical: "min=5"}},
		{name: "yen have no decimals", query: "min=1234&max=12.5", currency: "JPY",
			want: filterGot{Min: "1234", Canonical: "min=1234", Errors: map[string]string{"max": "orders.error.amount"}}},
		{name: "bad amounts", query: "min=-1&max=1e3",
			want: filterGot{Errors: map[string]string{"min": "orders.error.amount", "max": "orders.error.amount"}}},
		{name: "too many decimals", query: "min=1.234",
			want: filterGot{Errors: map[string]string{"min": "orders.error.amount"}}},
		{name: "overflow", query: "max=" + long,
			want: filterGot{Errors: map[string]string{"max": "orders.error.amount"}}},
		{name: "injection as an amount", query: "min=1%27+OR+%271%27%3D%271",
			want: filterGot{Errors: map[string]string{"min": "orders.error.amount"}}},
		{name: "min above max keeps min", query: "min=10&max=5",
			want: filterGot{Min: "1000", Canonical: "min=10", Errors: map[string]string{"max": "orders.error.amount_range"}}},
		{name: "min equal to max", query: "min=5&max=5.00",
			want: filterGot{Min: "500", Max: "500", Canonical: "max=5.00&min=5"}},
		{name: "statuses: known, once, in their order", query: "status=refunded&status=paid&status=paid&status=PAID&status=bogus&status=",
			want: filterGot{Statuses: []string{"paid", "refunded"}, Canonical: "status=paid&status=refunded"}},
		{name: "channels: well-formed, once", query: "channel=promptpay&channel=promptpay&channel=new_wallet&channel=PromptPay" +
			"&channel=x%27+OR+%271%27%3D%271&channel=%3Cscript%3E&channel=" + strings.Repeat("a", 33) +
			"&channel=promptpay%0A&channel=&channel=truemoney%00",
			want: filterGot{Channels: []string{"promptpay", "new_wallet"}, Canonical: "channel=promptpay&channel=new_wallet"}},
		{name: "32-character channel", query: "channel=" + strings.Repeat("a", 32),
			want: filterGot{Channels: []string{strings.Repeat("a", 32)}, Canonical: "channel=" + strings.Repeat("a", 32)}},
		{name: "mid filter on /m/all", query: "mid=M2&mid=M9&mid=M2&mid=m3", all: true,
			want: filterGot{Mids: []string{"M2"}, Canonical: "mid=M2"}},
		{name: "unknown mids only: every mid", query: "mid=M9", all: true,
			want: filterGot{Mids: three}},
		{name: "mid ignored on one mid's list", query: "mid=M2",
			want: filterGot{Mids: one}},
		{name: "text trimmed", query: "q=++ORD-1%09",
			want: filterGot{Text: "ORD-1", Canonical: "q=ORD-1"}},
		{name: "whitespace text is none", query: "q=+%09+"},
		{name: "injection-ish text is just text", query: "q=%27+OR+1%3D1+--",
			want: filterGot{Text: "' OR 1=1 --", Canonical: "q=%27+OR+1%3D1+--"}},
		{name: "sort", query: "sort=amount_desc",
			want: filterGot{Sort: "amount_desc", Canonical: "sort=amount_desc"}},
		{name: "default sort not in the query", query: "sort=newest"},
		{name: "bad sort", query: "sort=id%3B+DROP+TABLE+orders"},
		{name: "page size", query: "per=100",
			want: filterGot{Limit: 100, Canonical: "per=100"}},
		{name: "page size written oddly", query: "per=050",
			want: filterGot{Limit: 50, Canonical: "per=50"}},
		{name: "default page size not in the query", query: "per=25"},
		{name: "bad page sizes", query: "per=7"},
		{name: "page size not a number", query: "per=abc"},
		{name: "cursors pass, never canonical", query: "after=abc&before=def",
			want: filterGot{After: "abc", Before: "def"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mids := one
			if tt.all {
				mids = three
			}
			if tt.currency == "" {
				tt.currency = "THB"
			}
			if tt.loc == nil {
				tt.loc = bangkok
			}
			want := tt.want
			if want.Sort == "" {
				want.Sort = "newest"
			}
			if want.Limit == 0 {
				want.Limit = 25
			}
			if want.Mids == nil {
				want.Mids = mids
			}
			if want.Errors == nil {
				want.Errors = map[string]string{}
			}
			got, _ := runOrderFilter(t, MustQuery(t, tt.query), tt.all, mids, tt.currency, tt.loc)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("parseOrderFilter(%q)\n got %+v\nwant %+v", tt.query, got, want)
			}
			// The canonical query is a fixed point: valid, and the same
			// filter (without the cursor) again.
			again, _ := runOrderFilter(t, MustQuery(t, got.Canonical), tt.all, mids, tt.currency, tt.loc)
			want.After, want.Before, want.Errors = "", "", map[string]string{}
			if !reflect.DeepEqual(again, want) {
				t.Errorf("parseOrderFilter(canonical %q)\n got %+v\nwant %+v", got.Canonical, again, want)
			}
		})
	}
}

// The form shows what was typed, even when refused, and which options are
// chosen.
func TestParseOrderFilterFillsTheForm(t *testing.T) {
	q := MustQuery(t, "from=+2026-02-30&to=2026-11-22&min=abc&max=5&q=+x+&status=paid&channel=promptpay&channel=new_wallet"+
		"&mid=M2&sort=oldest&per=50")
	_, vm := runOrderFilter(t, q, true, []string{"M1", "M2"}, "THB", MustZone(t, "Asia/Bangkok"))
	if vm.From != " 2026-02-30" || vm.To != "2026-11-22" || vm.Min != "abc" || vm.Max != "5" || vm.Text != "x" {
		t.Errorf("typed fields = %q %q %q %q %q, want them as typed (text trimmed)", vm.From, vm.To, vm.Min, vm.Max, vm.Text)
	}
	selected := func(opts []views.Option) []string {
		var out []string
		for _, o := range opts {
			if o.Selected {
				out = append(out, o.Value)
			}
		}
		return out
	}
	values := func(opts []views.Option) []string {
		var out []string
		for _, o := range opts {
			out = append(out, o.Value)
		}
		return out
	}
	if got := values(vm.Statuses); !slices.Equal(got, models.OrderStatuses) {
		t.Errorf("status options = %v, want %v", got, models.OrderStatuses)
	}
	if got := selected(vm.Statuses); !slices.Equal(got, []string{"paid"}) {
		t.Errorf("selected statuses = %v, want [paid]", got)
	}
	// A channel not known yet is offered too, after the known ones.
	if got, want := values(vm.Channels), append(slices.Clone(models.KnownChannels), "new_wallet"); !slices.Equal(got, want) {
		t.Errorf("channel options = %v, want %v", got, want)
	}
	if got := selected(vm.Channels); !slices.Equal(got, []string{"promptpay", "new_wallet"}) {
		t.Errorf("selected channels = %v, want [promptpay new_wallet]", got)
	}
	if got := values(vm.Mids); !slices.Equal(got, []string{"M1", "M2"}) {
		t.Errorf("mid options = %v, want [M1 M2]", got)
	}
	if got := selected(vm.Mids); !slices.Equal(got, []string{"M2"}) {
		t.Errorf("selected mids = %v, want [M2]", got)
	}
	if got := selected(vm.Sorts); !slices.Equal(got, []string{"oldest"}) {
		t.Errorf("selected sort = %v, want [oldest]", got)
	}
	if got := selected(vm.PerPage); !slices.Equal(got, []string{"50"}) {
		t.Errorf("selected page size = %v, want [50]", got)
	}
	// One mid's list has no mid filter.
	_, vm = runOrderFilter(t, q, false, []string{"M1"}, "THB", time.UTC)
	if vm.Mids != nil {
		t.Errorf("mid options on one mid's list = %v, want none", vm.Mids)
	}
}
