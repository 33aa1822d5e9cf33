package handlers

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// OrderReader is what the order pages, the search and the dashboard read from the order cache.
type OrderReader interface {
	FindOrder(ctx context.Context, mids []string, id int64) (*models.Order, error)
	FindOrdersByAnyID(ctx context.Context, mids []string, id string) ([]models.OrderHit, error)
	ListOrdersPage(ctx context.Context, f models.OrderFilter) (*models.OrderPage, error)
	OrderEvents(ctx context.Context, orderID int64) ([]models.OrderEvent, error)
	OrderRefunds(ctx context.Context, orderID int64) ([]models.OrderRefund, error)
	OrderStatsSince(ctx context.Context, mids []string, since time.Time) (*models.OrderStats, error)
}

// OrderList handles GET /m/:mid/orders (and /m/all/orders): the cached
// orders, filtered, sorted and paged by keyset, with the whole state in the
// URL. htmx requests from the filter form and the page links get only the
// results; everything else (including htmx history restores) the page.
func (h *Handler) OrderList(c *fiber.Ctx) error {
	q, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		q = url.Values{}
	}
	c.Vary("HX-Request")
	return h.renderOrderList(c, q, "")
}

// listKeys are the query parameters of the list's filter (and so of saved
// views); after/before are the page cursor, never saved.
var listKeys = []string{"from", "to", "status", "channel", "mid", "min", "max", "q", "sort", "per"}

var channelRe = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// renderOrderList renders the list for query q; saveErr is a saved-view
// form problem to show (worded).
func (h *Handler) renderOrderList(c *fiber.Ctx, q url.Values, saveErr string) error {
	sc := ScopeOf(c)
	ctx := c.UserContext()
	mids := sc.Mids()
	vm := views.OrderListVM{Mid: sc.Mid, All: sc.All, Action: "/m/" + sc.Mid + "/orders",
		SaveURL: "/m/" + sc.Mid + "/orders/views", SaveError: saveErr, CSRF: csrfToken(c)}
	loc := h.zoneFor(sc.Access, mids...)
	vm.Zone, vm.Currency = loc.String(), currencyOf(sc.Access, mids)
	f, canonical, probs := parseOrderFilter(q, &vm, mids, loc)
	vm.Query = canonical.Encode()
	page, err := h.orderReads.ListOrdersPage(ctx, f)
	if models.ErrorCode(err) == models.EINVALID {
		probs.Add("cursor", "orders.error.cursor", nil)
		f.After, f.Before = "", ""
		page, err = h.orderReads.ListOrdersPage(ctx, f)
	}
	if err != nil {
		return err
	}
	vm.Errors = problemTexts(c, probs)
	for i := range page.Rows {
		vm.Rows = append(vm.Rows, orderRow(&page.Rows[i], h.midZone(sc.Access, page.Rows[i].Mid)))
	}
	link := func(cursorKey, cursor string) string {
		v := url.Values{}
		for k, vs := range canonical {
			v[k] = vs
		}
		if cursorKey != "" {
			v.Set(cursorKey, cursor)
		}
		if len(v) == 0 {
			return vm.Action
		}
		return vm.Action + "?" + v.Encode()
	}
	if f.After != "" || f.Before != "" {
		vm.FirstURL = link("", "")
	}
	if page.Prev != "" {
		vm.PrevURL = link("before", page.Prev)
	}
	if page.Next != "" {
		vm.NextURL = link("after", page.Next)
	}
	if err := h.savedViewsVM(c, &vm); err != nil {
		return err
	}
	if isPartial(c) {
		// htmx pushes this request's URL: the header's switcher follows it.
		vm.Partial, vm.Switcher = true, switcher(c, sc.Access, sc)
		return render(c, fiber.StatusOK, views.OrderResults(vm))
	}
	return render(c, fiber.StatusOK, views.OrderListPage(h.layout(c, "orders.title"), vm))
}

// parseOrderFilter reads the list's query into the store's filter, fills
// the form's fields (what was typed) and returns the canonical query of the
// valid part, without the page cursor, and what is wrong with the rest.
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
	for _, s := range models.OrderStatuses {
		on := slices.Contains(q["status"], s)
		vm.Statuses = append(vm.Statuses, views.Option{Value: s, Selected: on})
		if on {
			f.Statuses = append(f.Statuses, s)
			canon.Add("status", s)
		}
	}
	for _, ch := range q["channel"] {
		if channelRe.MatchString(ch) && !slices.Contains(f.Channels, ch) {
			f.Channels = append(f.Channels, ch)
			canon.Add("channel", ch)
		}
	}
	channels := slices.Clone(models.KnownChannels)
	for _, ch := range f.Channels {
		if !slices.Contains(channels, ch) {
			channels = append(channels, ch)
		}
	}
	for _, ch := range channels {
		vm.Channels = append(vm.Channels, views.Option{Value: ch, Selected: slices.Contains(f.Channels, ch)})
	}
	if vm.All {
		var chosen []string
		for _, m := range q["mid"] {
			if slices.Contains(mids, m) && !slices.Contains(chosen, m) {
				chosen = append(chosen, m)
				canon.Add("mid", m)
			}
		}
		if len(chosen) > 0 {
			f.Mids = chosen
		}
		for _, m := range mids {
			vm.Mids = append(vm.Mids, views.Option{Value: m, Label: m, Selected: slices.Contains(chosen, m)})
		}
	}
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

// currencyOf is the currency of the amount filter: the mids' own when they
// agree, else THB.
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
