package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
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
		vm.Refunds = append(vm.Refunds, views.RefundVM{URL: refundURL(&r), MchRefundNo: r.MchRefundNo, KsherRefundNo: r.KsherRefundNo,
			ChannelRefundNo: r.ChannelRefundNo, Amount: views.Money{Minor: r.Amount, Currency: r.Currency},
			Status: r.Status, At: views.Moment{T: r.CreatedAt, Zone: loc}})
	}
	vm.RefundPanel, err = h.refundPanelVM(c, o, nil)
	return vm, err
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

// timelineEntry is one line of the timeline, worded in the request's

// language from its code and parameters. An entry without a code (written

// before codes existed) shows the English text it was stored with.

// timelineText words an entry: what happened, then what it did to the

// cached order (created it, made it paid, changed its state), joined by

// " · ". "" for a code this version does not know.
