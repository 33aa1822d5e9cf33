package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// RefundDesk is what the refund panel and its form need from
// models.Refunds.
type RefundDesk interface {
	Panel(ctx context.Context, by models.Actor, a models.MidAccess, sessionID string, o *models.Order) (*models.RefundPanel, error)
	Create(ctx context.Context, by models.Actor, a models.MidAccess, req models.RefundRequest) (*models.Refund, error)
}

// refundForm is the refund form as typed, shown again with its problems.
type refundForm struct {
	Amount, Reason string
	Errors         map[string]string
}

// refundPanelVM builds o's refund panel for the person, nil when they may
// not refund on o's mid (the panel is not shown at all).
func (h *Handler) refundPanelVM(c *fiber.Ctx, o *models.Order, f *refundForm) (*views.RefundPanelVM, error) {
	sc := ScopeOf(c)
	if h.refunds == nil || sc == nil || !sc.Access.Can(o.Mid, models.ActRefund) {
		return nil, nil
	}
	a := sc.Access.Held(o.Mid)
	p, err := h.refunds.Panel(c.UserContext(), actor(c), *a, sessionID(c), o)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Blocked == "refund.not_paid" && o.Status == models.StatusRefunded:
		p.Blocked = "refund.nothing_left" // refunded in full: say so, not "not paid"
	case p.Blocked == "refund.not_paid" && len(p.Refunds) == 0:
		return nil, nil // never paid: nothing to say about refunds
	}
	loc := h.midZone(sc.Access, o.Mid)
	vm := &views.RefundPanelVM{Action: orderURL(o) + "/refunds", CSRF: csrfToken(c), RefundNo: p.RefundNo, Currency: o.Currency,
		Remaining: views.Money{Minor: p.Remaining, Currency: o.Currency}, Refunded: views.Money{Minor: p.Refunded, Currency: o.Currency},
		Held: views.Money{Minor: p.Held, Currency: o.Currency}, OrderAmount: views.Money{Minor: o.Amount, Currency: o.Currency},
		Channel: o.Channel, Partial: p.Partial, PartialBy: p.PartialBy, ReportedAt: momentPtr(p.ReportedAt, loc),
		QueryByOrder: p.QueryByOrder, AfterDay: p.AfterDay, NeedsLookup: p.NeedsLookup, SameDayOnly: p.SameDayOnly,
		StepUpValid: p.StepUpValid, NeedsCode: p.NeedsCode, Blocked: p.Blocked}
	if p.Cap != nil {
		vm.Cap = &views.Money{Minor: *p.Cap, Currency: o.Currency}
	}
	if f != nil {
		vm.Amount, vm.Reason, vm.Errors = f.Amount, f.Reason, f.Errors
	}
	return vm, nil
}

// sessionID is the request's session (the step-up is confirmed in it).
func sessionID(c *fiber.Ctx) string {
	if v := ViewerOf(c); v != nil && v.Session != nil {
		return v.Session.ID
	}
	return ""
}
