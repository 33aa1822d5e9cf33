package handlers

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/models/money"
	"github.com/ksherdash/ksherdash/views"
)

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
	case models.EventRefundRequested:
		return views.Tf(ctx, "orders.timeline.refund_requested", map[string]any{"No": d.RefundNo, "Amount": amount})
	case models.EventRefundState:
		return refundStateText(ctx, d, amount)
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

// refundStateText words a new state of one of our refunds, with the code
// Ksher (or the gateway) gave for a failure or an unclear answer.
func refundStateText(ctx context.Context, d models.EventDetail, amount string) string {
	id := "orders.timeline.refund_unknown"
	switch d.To {
	case models.RefundPending:
		id = "orders.timeline.refund_pending"
	case models.RefundSucceeded:
		id = "orders.timeline.refund_succeeded"
	case models.RefundFailed:
		id = "orders.timeline.refund_failed"
	}
	text := views.Tf(ctx, id, map[string]any{"No": d.RefundNo, "Amount": amount})
	if d.ErrorCode != "" && d.To != models.RefundSucceeded {
		text += " (" + d.ErrorCode + ")"
	}
	return text
}
