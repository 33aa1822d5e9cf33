package handlers

import (
	"strconv"
	"time"

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
	o, up := h.refreshOrder(c.UserContext(), o, false)
	var notice *views.OrderNotice
	if up.Err != nil {
		notice = &views.OrderNotice{Kind: "error", ID: "orders.notice.view_failed", Data: map[string]any{"Code": gatewayErrorCode(up.Err)}}
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
	o, err := h.orders().FindOrder(c.UserContext(), ScopeOf(c).Mids(), id)
	if models.ErrorCode(err) == models.ENOTFOUND {
		return nil, fiber.ErrNotFound
	}
	return o, err
}

// orderShowVM builds the detail page's view model.
func (h *Handler) orderShowVM(c *fiber.Ctx, o *models.Order, notice *views.OrderNotice) (views.OrderShowVM, error) {
	ctx := c.UserContext()
	loc := h.zoneFor(ctx, o.AccountID)
	vm := views.OrderShowVM{Order: orderRow(o, loc), Kind: o.Kind, GatewayOrderNo: o.GatewayOrderNo, RawStatus: o.RawStatus,
		Product: o.Product, Source: o.Source, Rate: o.Rate, Zone: loc.String(), Notice: notice,
		Refundable: views.Money{Minor: o.Refundable(), Currency: o.Currency},
		PaidAt:     localTimePtr(o.PaidAt, loc), CheckedAt: localTimePtr(o.CheckedAt, loc),
		NotifiedAt: localTimePtr(o.NotifiedAt, loc), UpdatedAt: localTimeZ(o.UpdatedAt, loc), Raw: prettyRaw(o.Raw)}
	vm.Order.CreatedAt = localTimeZ(o.CreatedAt, loc)
	if o.PaidCurrency != "" {
		vm.Paid = views.Money{Minor: o.PaidAmount, Currency: o.PaidCurrency}
	}
	// Ksher may be asked again QueryGap after it last spoke about the order.
	last, _, err := h.orders().LastUpstreamCall(ctx, orderKey(o.Mid, o.MchOrderNo))
	if err != nil {
		return vm, err
	}
	if o.CheckedAt != nil && o.CheckedAt.After(last) {
		last = *o.CheckedAt
	}
	if next := last.Add(QueryGap); time.Now().Before(next) {
		vm.NextAskAt = localTimeZ(next, loc)
	}
	if h.may(c, o.Mid, models.ActRefreshOrder) {
		vm.RefreshURL, vm.CSRF = orderURL(o)+"/refresh", csrfToken(c)
	}
	events, err := h.orders().OrderEvents(ctx, o.ID)
	if err != nil {
		return vm, err
	}
	for _, e := range events {
		ev := views.OrderEventVM{At: localTime(e.CreatedAt, loc), Kind: e.Kind, Summary: e.Summary, OK: e.OK}
		if e.LatencyMS != nil {
			ev.Latency = strconv.Itoa(*e.LatencyMS) + " ms"
		}
		vm.Timeline = append(vm.Timeline, ev)
	}
	refunds, err := h.orders().OrderRefunds(ctx, o.ID)
	if err != nil {
		return vm, err
	}
	for _, r := range refunds {
		vm.Refunds = append(vm.Refunds, views.RefundVM{MchRefundNo: r.MchRefundNo, KsherRefundNo: r.KsherRefundNo,
			ChannelRefundNo: r.ChannelRefundNo, Amount: views.Money{Minor: r.Amount, Currency: r.Currency},
			Status: r.Status, At: localTime(r.CreatedAt, loc)})
	}
	return vm, nil
}

// may reports whether the person's role on mid allows action.
func (h *Handler) may(c *fiber.Ctx, mid string, action models.Action) bool {
	sc := ScopeOf(c)
	if sc == nil {
		return false
	}
	for _, a := range sc.Access {
		if a.Mid.Mid == mid {
			return models.Can(a.Role, action)
		}
	}
	return false
}
