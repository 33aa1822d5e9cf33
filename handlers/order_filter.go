package handlers

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

var listKeys = []string{"from", "to", "status", "channel", "mid", "min", "max", "q", "sort", "per"}

var channelRe = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

func parseOrderFilter(q url.Values, vm *views.OrderListVM, mids []string, loc *time.Location) (models.OrderFilter, url.Values, models.Problems) {
	f := models.OrderFilter{Mids: mids, After: q.Get("after"), Before: q.Get("before")}
	canon, probs := url.Values{}, models.Problems{}
	day := func(key string, next int) *time.Time {
		s := strings.TrimSpace(q.Get(key))
		if s == "" {
			return nil
		}
		d, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil {
			probs[key] = models.Problem{ID: "orders.error.date"}
			return nil
		}
		canon.Set(key, s)
		t := d.AddDate(0, 0, next).UTC() // local midnight, as a UTC bound
		return &t
	}
	vm.From, vm.To = q.Get("from"), q.Get("to")
	f.From, f.To = day("from", 0), day("to", 1)
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		probs["to"] = models.Problem{ID: "orders.error.range"}
		f.To = nil
		canon.Del("to")
	}
	amount := func(key string) *int64 {
		s := strings.TrimSpace(q.Get(key))
		if s == "" {
			return nil
		}
		n, err := models.ParseMinor(s, vm.Currency)
		if err != nil {
			probs[key] = models.Problem{ID: "orders.error.amount"}
			return nil
		}
		canon.Set(key, s)
		return &n
	}
	vm.Min, vm.Max = q.Get("min"), q.Get("max")
	f.MinAmount, f.MaxAmount = amount("min"), amount("max")
	if f.MinAmount != nil && f.MaxAmount != nil && *f.MinAmount > *f.MaxAmount {
		probs["max"] = models.Problem{ID: "orders.error.amount_range"}
		f.MaxAmount = nil
		canon.Del("max")
	}
	chooseOptions(q, &f, vm, mids, canon)
	if t := strings.TrimSpace(q.Get("q")); t != "" {
		f.Text, vm.Text = t, t
		canon.Set("q", t)
	}
	f.Sort = q.Get("sort")
	if !slices.Contains(models.Sorts, f.Sort) {
		f.Sort = models.Sorts[0]
	}
	if f.Sort != models.Sorts[0] {
		canon.Set("sort", f.Sort)
	}
	for _, s := range models.Sorts {
		vm.Sorts = append(vm.Sorts, views.Option{Value: s, Selected: s == f.Sort})
	}
	f.Limit, _ = strconv.Atoi(q.Get("per"))
	if !slices.Contains(models.PageSizes, f.Limit) {
		f.Limit = models.PageSizes[0]
	}
	if f.Limit != models.PageSizes[0] {
		canon.Set("per", strconv.Itoa(f.Limit))
	}
	for _, n := range models.PageSizes {
		vm.PerPage = append(vm.PerPage, views.Option{Value: strconv.Itoa(n), Selected: n == f.Limit})
	}
	return f, canon, probs
}

func currencyOf(access models.Access, mids []string) string {
	cur := ""
	for _, mid := range mids {
		a := access.Held(mid)
		if a == nil {
			continue
		}
		c := a.Mid.Currency
		if c == "" {
			c = "THB"
		}
		if cur != "" && c != cur {
			return "THB"
		}
		cur = c
	}
	if cur == "" {
		return "THB"
	}
	return cur
}
