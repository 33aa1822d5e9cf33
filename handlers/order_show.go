package handlers

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/money"
	"github.com/ksherdash/ksherdash/views"
)

// OrderShow handles GET /m/:mid/orders/:id: everything known about one
// cached order. An order not in a final state is first brought up to date
// per the cache rules (refreshOrder); a failure to reach Ksher shows the
// cached state with a notice.
func (h *Handler) OrderShow(c *fiber.Ctx) error {
	o, err := h.scopedOrder(c)
	if err != nil {
		return err
	}
	o, up := h.orderCache.Refresh(c.UserContext(), o, false)
	var notice *views.OrderNotice
	if up.Err != nil {
		id := "orders.notice.view_failed"
		if models.ErrorCode(up.Err) == models.EGATEWAYTIMEOUT {
			id = "orders.notice.view_timeout"
		}
		notice = &views.OrderNotice{Kind: "error", ID: id, Data: map[string]any{"Code": models.GatewayErrorCode(up.Err)}}
	} else if up.Called && !up.Found {
		notice = &views.OrderNotice{Kind: "error", ID: "orders.notice.unknown"}
	} else if up.Called {
		notice = &views.OrderNotice{Kind: "info", ID: "orders.notice.view_asked", Data: map[string]any{"Latency": up.Latency.Milliseconds()}}
	}
	vm, err := h.orderShowVM(c, o, notice)
	if err != nil {
		return err
	}
	if vm.Notice == nil {
		vm.Notice = h.refreshedNotice(c, o, vm) // back from a plain-form refresh
	}
	return render(c, fiber.StatusOK, views.OrderShowPage(h.layout(c, "orders.detail.page_title"), vm))
}

// scopedOrder loads the :id order among the request's mids; 404 otherwise.
func (h *Handler) scopedOrder(c *fiber.Ctx) (*models.Order, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return nil, fiber.ErrNotFound
	}
	return h.orderReads.FindOrder(c.UserContext(), ScopeOf(c).Mids(), id) // ENOTFOUND: 404 (web)
}

// orderShowVM builds the detail page's view model.
func (h *Handler) orderShowVM(c *fiber.Ctx, o *models.Order, notice *views.OrderNotice) (views.OrderShowVM, error) {
	ctx := c.UserContext()
	loc := h.midZone(ScopeOf(c).Access, o.Mid)
	vm := views.OrderShowVM{Order: orderRow(o, loc), Kind: o.Kind, GatewayOrderNo: o.GatewayOrderNo, RawStatus: o.RawStatus,
		Product: o.Product, Source: o.Source, Rate: o.Rate, Zone: loc.String(), Notice: notice,
		Refundable: views.Money{Minor: o.Refundable(), Currency: o.Currency},
		PaidAt:     momentPtr(o.PaidAt, loc), CheckedAt: momentPtr(o.CheckedAt, loc),
		NotifiedAt: momentPtr(o.NotifiedAt, loc), UpdatedAt: views.Moment{T: o.UpdatedAt, Zone: loc}, Raw: models.RedactedRaw(o.Raw)}
	if o.PaidCurrency != "" {
		vm.Paid = views.Money{Minor: o.PaidAmount, Currency: o.PaidCurrency}
	}
	next, err := h.orderCache.NextAskAt(ctx, o)
	if err != nil {
		return vm, err
	}
	if !next.IsZero() {
		vm.NextAskAt = views.Moment{T: next, Zone: loc}
	}
	if sc := ScopeOf(c); sc != nil && sc.Access.Can(o.Mid, models.ActRefreshOrder) {
		vm.RefreshURL, vm.CSRF = orderURL(o)+"/refresh", csrfToken(c)
	}
	events, err := h.orderReads.OrderEvents(ctx, o.ID)
	if err != nil {
		return vm, err
	}
	refunds, err := h.orderReads.OrderRefunds(ctx, o.ID)
	if err != nil {
		return vm, err
	}
	vm.Timeline = timeline(ctx, o, events, refunds, loc)
	for _, r := range refunds {
		vm.Refunds = append(vm.Refunds, views.RefundVM{MchRefundNo: r.MchRefundNo, KsherRefundNo: r.KsherRefundNo,
			ChannelRefundNo: r.ChannelRefundNo, Amount: views.Money{Minor: r.Amount, Currency: r.Currency},
			Status: r.Status, At: views.Moment{T: r.CreatedAt, Zone: loc}})
	}
	return vm, nil
}

// timeline is the order's story in time order: the order's own moments
// (created, paid, each refund that succeeded, and the notification when no
// received one is in the log: orders cached from history), at the times the
// page shows for them, among what this dashboard recorded (searches, calls,
// notifications, syncs). A refund is one line, at its own time, not a
// second one when it was recorded. Entries at the same moment keep the
// order's first. The order's times are Ksher's when Ksher gave them; v3
// gives no creation time, so there it is the first time the order was seen
// (the same time the page and the list show as "Created").
func timeline(ctx context.Context, o *models.Order, events []models.OrderEvent, refunds []models.OrderRefund, loc *time.Location) []views.OrderEventVM {
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
		if r.Status != "succeeded" {
			continue
		}
		shown[r.MchRefundNo] = true
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

// timelineEntry is one line of the timeline, worded in the request's
// language from its code and parameters. An entry without a code (written
// before codes existed) shows the English text it was stored with.
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

// timelineText words an entry: what happened, then what it did to the
// cached order (created it, made it paid, changed its state), joined by
// " · ". "" for a code this version does not know.
func timelineText(ctx context.Context, d models.EventDetail, loc *time.Location) string {
	reported := statusText(ctx, cmp.Or(d.Status, d.To), d.RawStatus)
	amount := moneyText(d.Amount, d.Currency)
	var parts []string
	switch d.Code {
	case models.EventAnswer:
		if d.Memory {
			parts = append(parts, views.Tf(ctx, "orders.timeline.answer_memory", map[string]any{"Status": reported}))
		} else {
			parts = append(parts, views.Tf(ctx, "orders.timeline.answer", map[string]any{"Status": reported}))
		}
	case models.EventCallFailed:
		return views.Tf(ctx, "orders.timeline.call_failed", map[string]any{"Op": orDash(d.Op), "Error": callErrorText(ctx, d)})
	case models.EventNotification:
		parts = append(parts, views.Tf(ctx, "orders.timeline.notification", map[string]any{"Status": reported}))
	case models.EventWebhook:
		if d.Confirmed != nil && *d.Confirmed {
			return views.Tf(ctx, "orders.timeline.webhook_confirmed", map[string]any{"Status": reported})
		}
		return views.Tf(ctx, "orders.timeline.webhook_unconfirmed", map[string]any{"Status": reported})
	case models.EventSync:
		if d.Status == "" { // a line that says something other than the state (a refund total)
			parts = append(parts, views.T(ctx, "orders.timeline.sync_plain"))
		} else {
			parts = append(parts, views.Tf(ctx, "orders.timeline.sync", map[string]any{"Status": reported}))
		}
	case models.EventSeed:
		parts = append(parts, views.T(ctx, "orders.timeline.seed"))
	case models.EventRefund:
		return views.Tf(ctx, "orders.timeline.refund", map[string]any{"No": d.RefundNo, "Amount": amount})
	case models.EventChange:
	default:
		return ""
	}
	switch {
	case d.Created:
		parts = append(parts, views.Tf(ctx, "orders.timeline.created", map[string]any{"Status": statusText(ctx, d.To, ""), "Amount": amount}))
	case d.To == models.StatusPaid && d.From != models.StatusPaid && d.PaidAt != nil:
		parts = append(parts, views.Tf(ctx, "orders.timeline.paid_at", map[string]any{"Amount": amount, "Time": views.Moment{T: *d.PaidAt, Zone: loc}.Local()}))
	case d.To == models.StatusPaid && d.From != models.StatusPaid:
		parts = append(parts, views.Tf(ctx, "orders.timeline.paid", map[string]any{"Amount": amount}))
	case d.From != d.To:
		parts = append(parts, views.Tf(ctx, "orders.timeline.status_changed", map[string]any{
			"From": statusText(ctx, d.From, ""), "To": statusText(ctx, d.To, "")}))
	case d.Code == models.EventChange:
		parts = append(parts, views.T(ctx, "orders.timeline.updated"))
	}
	return strings.Join(parts, " · ")
}

// statusText names an order state in the request's language, with Ksher's
// own word for it when there is one: "ชำระแล้ว (SUCCESS)".
func statusText(ctx context.Context, status, raw string) string {
	text := status
	if slices.Contains(models.OrderStatuses, status) {
		text = views.T(ctx, "orders.status."+status)
	}
	if text == "" {
		text = "—"
	}
	if raw != "" {
		text += " (" + raw + ")"
	}
	return text
}

// moneyText is an amount with its currency: "1,234.50 THB".
func moneyText(minor int64, currency string) string {
	return money.Format(minor, currency) + " " + currency
}

// callErrorText words why a gateway call got no answer, with Ksher's code
// when it gave one.
func callErrorText(ctx context.Context, d models.EventDetail) string {
	var text string
	switch d.ErrorKind {
	case "transport":
		text = views.T(ctx, "orders.timeline.error.transport")
	case "timeout":
		text = views.T(ctx, "orders.timeline.error.timeout")
	case "api":
		text = views.T(ctx, "orders.timeline.error.api")
	case "bad_signature":
		text = views.T(ctx, "orders.timeline.error.bad_signature")
	case "rate_limited":
		text = views.T(ctx, "orders.timeline.error.rate_limited")
	case "unsupported", "invalid_request":
		text = views.T(ctx, "orders.timeline.error.refused_here")
	case "configuration":
		text = views.T(ctx, "orders.timeline.error.configuration")
	default:
		text = views.T(ctx, "orders.timeline.error.other")
	}
	if d.ErrorCode != "" {
		text += " (" + d.ErrorCode + ")"
	}
	return text
}
