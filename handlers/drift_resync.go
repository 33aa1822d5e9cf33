package handlers

import (
	"context"
	"net/url"
	"strconv"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// driftResyncWorkers bounds how many orders "re-sync all" asks Ksher about
// at once.
const driftResyncWorkers = 4

// DriftResyncOne handles POST /m/:mid/drift/:id/resync: ask Ksher about one
// order again, through the order cache (never sooner than 10 s after the
// last question, on any replica). Audited.
func (h *Handler) DriftResyncOne(c *fiber.Ctx) error {
	sc := ScopeOf(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	o, err := h.orders().FindOrder(c.UserContext(), sc.Mids(), id)
	if err != nil {
		return err
	}
	res := h.resync(c.UserContext(), []*models.Order{o})
	if err := h.audit(c, models.AuditResync, o.MchOrderNo, o.Mid, resyncDetails(res)); err != nil {
		return err
	}
	return redirectAfterPost(c, driftResultURL(sc, driftOlder(c), res))
}

// DriftResyncAll handles POST /m/:mid/drift/resync: ask Ksher again about
// every order the drift page shows (the same lists, recomputed), and say
// how many were asked, skipped (asked under 10 s ago), changed and failed.
// Audited once, with the counts.
func (h *Handler) DriftResyncAll(c *fiber.Ctx) error {
	sc := ScopeOf(c)
	older := driftOlder(c)
	report, err := h.ops().DriftReport(c.UserContext(), driftFilter(sc, older))
	if err != nil {
		return err
	}
	byID := map[int64]*models.Order{}
	for i := range report.Disagreements {
		byID[report.Disagreements[i].OrderID] = &report.Disagreements[i].Order
	}
	for i := range report.Unnotified {
		byID[report.Unnotified[i].ID] = &report.Unnotified[i]
	}
	for i := range report.Open {
		byID[report.Open[i].ID] = &report.Open[i]
	}
	var orders []*models.Order
	for _, id := range report.OrderIDs() {
		if o := byID[id]; o != nil && o.ID != 0 {
			orders = append(orders, o)
		}
	}
	res := h.resync(c.UserContext(), orders)
	if err := h.audit(c, models.AuditResync, "drift", midOrEmpty(sc.Mid), resyncDetails(res)); err != nil {
		return err
	}
	return redirectAfterPost(c, driftResultURL(sc, older, res))
}

// resync refreshes orders through the order cache's refresh (forced: final
// states too), a few at a time, and counts what happened.
func (h *Handler) resync(ctx context.Context, orders []*models.Order) views.DriftResult {
	var mu sync.Mutex
	var res views.DriftResult
	work := make(chan *models.Order)
	var wg sync.WaitGroup
	for range min(driftResyncWorkers, len(orders)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				after, up := h.refreshOrder(ctx, o, true)
				mu.Lock()
				switch {
				case up.Err != nil:
					res.Failed++
				case !up.Called:
					res.Skipped++
				default:
					res.Asked++
					if after.Status != o.Status || after.Refunded != o.Refunded {
						res.Changed++
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, o := range orders {
		work <- o
	}
	close(work)
	wg.Wait()
	return res
}

func resyncDetails(r views.DriftResult) map[string]any {
	return map[string]any{"asked": r.Asked, "skipped": r.Skipped, "changed": r.Changed, "failed": r.Failed}
}

func driftResultURL(sc *Scope, older int, r views.DriftResult) string {
	q := url.Values{"older": {strconv.Itoa(older)}, "asked": {strconv.Itoa(r.Asked)}, "skipped": {strconv.Itoa(r.Skipped)},
		"changed": {strconv.Itoa(r.Changed)}, "failed": {strconv.Itoa(r.Failed)}}
	return "/m/" + sc.Mid + "/drift?" + q.Encode()
}
