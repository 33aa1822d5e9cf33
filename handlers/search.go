package handlers

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// maxSearchID bounds what is taken for an order number (Ksher's are at

// most 32 characters).

const maxSearchID = 64

// SearchShow handles GET /m/:mid/search?q=: one box for a merchant, Ksher,

// channel or refund order number, over every mid the person may search

// (current mid first). The cache answers first; on a miss Ksher is asked,

// mid by mid, until one knows the order (lookupPlan, through the "find"

// guard), and the answer is cached, so the same search again asks nobody.

func (h *Handler) SearchShow(c *fiber.Ctx) error {
	sc := ScopeOf(c)
	q := strings.TrimSpace(c.Query("q"))
	lp := h.layout(c, "search.title")
	lp.SearchQuery = q
	vm := views.SearchVM{Query: q}
	if q == "" {
		return render(c, fiber.StatusOK, views.SearchPage(lp, vm))
	}
	ctx := c.UserContext()
	mids := searchMids(sc)
	vm.Searched, vm.CacheMids = true, mids
	hits, err := h.orderReads.FindOrdersByAnyID(ctx, mids, q)
	if err != nil {
		return err
	}
	live := false
	if len(hits) == 0 && len(q) <= maxSearchID && !strings.ContainsAny(q, " \t") {
		search := h.orderCache.StartSearch(actor(c)) // spends the lookup budgets once per search
		for _, mid := range mids {
			up := h.orderCache.FindLive(ctx, *sc.Access.Held(mid), q, search) // a mid of searchMids: held
			if errors.Is(up.Err, models.ErrLookupBudget) {
				return up.Err // the database failed: never ask Ksher without a budget
			}
			vm.Live = append(vm.Live, liveTry(mid, up, h.midZone(sc.Access, mid)))
			if ob := up.OverBudget; ob != nil {
				addBudgetNotice(&vm, ob)
				if ob.Scope == models.BudgetPerson {
					break // the person's budget covers every mid
				}
			}
			if !up.Found {
				continue
			}
			if hits, err = h.orderReads.FindOrdersByAnyID(ctx, []string{mid}, q); err != nil {
				return err
			}
			live = up.Called
			break
		}
	}
	// The page names the mids' zone (the configured one when they differ);
	// each order is in its own mid's zone, named when it is another.
	vm.Zone, vm.Now = h.zoneFor(sc.Access, mids...).String(), time.Now()
	if len(hits) == 0 {
		if err := h.similarOrders(ctx, sc, mids, q, &vm); err != nil {
			return err
		}
		return render(c, fiber.StatusOK, views.SearchPage(lp, vm))
	}
	for i := range hits {
		o := &hits[i].Order
		loc := h.midZone(sc.Access, o.Mid)
		seen := o.UpdatedAt
		if o.CheckedAt != nil {
			seen = *o.CheckedAt
		}
		vm.Hits = append(vm.Hits, views.SearchHitVM{OrderRowVM: orderRow(o, loc), MatchedBy: hits[i].MatchedBy,
			Live: live, Seen: views.Moment{T: seen, Zone: loc}})
	}
	return render(c, fiber.StatusOK, views.SearchPage(lp, vm))
}

// similarShown is how many orders starting with a searched number the

// search page lists; the orders list, filtered by the number, has the rest.

// minSimilarPrefix: shorter beginnings match too much to help.

// similarOrders fills vm with cached orders whose merchant order number

// starts with q, for a number typed in part ("DEMO-1-0002"), when no order

// carries q itself. The same filter as the orders list's text box.

// searchMids are the mids a search covers: every mid where the person may

// search, the URL's mid first.

func searchMids(sc *Scope) []string {
	mids := sc.Access.MidsWith(models.ActSearch)
	if i := slices.Index(mids, sc.Mid); i > 0 {
		mids = append([]string{sc.Mid}, slices.Delete(mids, i, i+1)...)
	}
	return mids
}
