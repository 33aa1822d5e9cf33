package handlers

import (
	"context"
	"slices"
	"time"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

func timeline(ctx context.Context, o *models.Order, events []models.OrderEvent, refunds []models.Refund, loc *time.Location) []views.OrderEventVM {
	type entry struct {
		at time.Time
		vm views.OrderEventVM
	}
	amount := moneyText(o.Amount, o.Currency)
	milestone := func(at time.Time, summary string) entry {
		return entry{at, views.OrderEventVM{At: views.Moment{T: at, Zone: loc}, Kind: "order", Summary: summary, OK: true}}
	}
	out := []entry{milestone(o.CreatedAt, views.Tf(ctx, "orders.timeline.k_created", map[string]any{"Amount": amount}))}
	if o.PaidAt != nil {
		out = append(out, milestone(*o.PaidAt, views.Tf(ctx, "orders.timeline.k_paid", map[string]any{"Amount": amount, "Channel": orDash(o.Channel)})))
	}
	received := slices.ContainsFunc(events, func(e models.OrderEvent) bool { return e.Kind == "notification" })
	if o.NotifiedAt != nil && !received {
		out = append(out, milestone(*o.NotifiedAt, views.T(ctx, "orders.timeline.k_notified")))
	}
	shown := map[string]bool{}
	for _, r := range refunds {
		if r.Status != models.RefundSucceeded {
			continue
		}
		shown[r.MchRefundNo] = true
		if r.Origin == models.RefundFromDashboard {
			continue // asked for here: its own entries tell it (asked for, each state)
		}
		out = append(out, milestone(r.CreatedAt, views.Tf(ctx, "orders.timeline.k_refund",
			map[string]any{"No": r.MchRefundNo, "Amount": moneyText(r.Amount, r.Currency)})))
	}
	for _, e := range events {
		if d, ok := e.Details(); ok && d.RefundNo != "" && shown[d.RefundNo] && d.Code == models.EventRefund {
			continue
		}
		out = append(out, entry{e.CreatedAt, timelineEntry(ctx, &e, loc)})
	}
	slices.SortStableFunc(out, func(a, b entry) int { return a.at.Compare(b.at) })
	vms := make([]views.OrderEventVM, len(out))
	for i, e := range out {
		vms[i] = e.vm
	}
	return vms
}

func timelineEntry(ctx context.Context, e *models.OrderEvent, loc *time.Location) views.OrderEventVM {
	ev := views.OrderEventVM{At: views.Moment{T: e.CreatedAt, Zone: loc}, Kind: e.Kind, OK: e.OK}
	if e.LatencyMS != nil {
		ev.Latency = views.Tf(ctx, "orders.timeline.latency", map[string]any{"MS": *e.LatencyMS})
	}
	if d, ok := e.Details(); ok {
		ev.Summary = timelineText(ctx, d, loc)
	}
	if ev.Summary == "" {
		ev.Summary, ev.SummaryLang = e.Summary, "en"
	}
	return ev
}
