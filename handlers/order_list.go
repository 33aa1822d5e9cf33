package handlers

import (
	"context"
	"net/url"
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
	OrderRefunds(ctx context.Context, orderID int64) ([]models.Refund, error)
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

// currencyOf is the currency of the amount filter: the mids' own when they

// agree, else THB.
