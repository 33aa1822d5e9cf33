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

// DriftStore is what a re-sync records besides the order cache's own
// writes.
type DriftStore interface {
	ConfirmPaid(ctx context.Context, orderID, amount int64, currency string) (bool, error)
	RecordDrift(ctx context.Context, orderID int64, reported, source string) error
}

// drift is the store's drift part (Store embeds DriftStore).
func (h *Handler) drift() DriftStore { return h.store }

// resync refreshes orders through the order cache's refresh (forced: final
// states too), a few at a time, and counts what happened. Then it settles
// what Ksher's own answer says (settleResync).
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
				after, up := h.orderCache.Refresh(ctx, o, true)
				confirmed := false
				if up.Err == nil && up.Called {
					confirmed = h.settleResync(ctx, o, after, up.Answer)
				}
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
					if confirmed {
						res.Confirmed++
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

// settleResync acts on what Ksher said about o (answer; nil when it did not
// know the order), now that the cache holds after, and reports whether it
// confirmed o paid:
//
//   - Paid, with the amount (and currency, when Ksher names one) the cache
//     held, for a paid order no notification told us about: recorded
//     (ConfirmPaid), so the order leaves "Paid, but no notification". An
//     answer from the client's 10-second memory is not a new word from
//     Ksher and confirms nothing.
//   - A state the cache refused, i.e. one that would reopen a final state
//     (Ksher says pending about an order cached paid): recorded as a
//     disagreement found by the re-sync. The cache keeps its state (as for
//     any answer), and the order stays unconfirmed. A state the cache took
//     is recorded by the database already.
func (h *Handler) settleResync(ctx context.Context, o, after *models.Order, answer *models.OrderUpdate) bool {
	if answer == nil || answer.Status == "" {
		return false
	}
	if models.IsFinal(after.Status) && !models.IsFinal(answer.Status) {
		if err := h.drift().RecordDrift(ctx, after.ID, answer.Status, models.DriftResync); err != nil {
			h.log.Warn("Cannot record a disagreement found by a re-sync.", "order_id", after.ID, slogErr(err))
		}
		return false
	}
	if o.Status != models.StatusPaid || o.NotifiedAt != nil || !answer.Checked || answer.Status != models.StatusPaid ||
		answer.Amount != o.Amount || (answer.Currency != "" && answer.Currency != o.Currency) {
		return false
	}
	ok, err := h.drift().ConfirmPaid(ctx, o.ID, o.Amount, o.Currency)
	if err != nil {
		h.log.Warn("Cannot record that Ksher confirmed an order paid.", "order_id", o.ID, slogErr(err))
		return false
	}
	return ok
}

func resyncDetails(r views.DriftResult) map[string]any {
	return map[string]any{"asked": r.Asked, "skipped": r.Skipped, "changed": r.Changed, "confirmed": r.Confirmed, "failed": r.Failed}
}

func driftResultURL(sc *Scope, older int, r views.DriftResult) string {
	q := url.Values{"older": {strconv.Itoa(older)}, "asked": {strconv.Itoa(r.Asked)}, "skipped": {strconv.Itoa(r.Skipped)},
		"changed": {strconv.Itoa(r.Changed)}, "confirmed": {strconv.Itoa(r.Confirmed)}, "failed": {strconv.Itoa(r.Failed)}}
	return "/m/" + sc.Mid + "/drift?" + q.Encode()
}
