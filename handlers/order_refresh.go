package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/views"
)

// OrderRefresh handles POST /m/:mid/orders/:id/refresh: ask Ksher about the
// order now, whatever its state, but never sooner than QueryGap after Ksher
// last spoke about it (across replicas: refreshOrder goes through
// Upstream). htmx gets the order panel back with what happened; a plain form
// is sent back to the detail page, whose timeline shows the call.
func (h *Handler) OrderRefresh(c *fiber.Ctx) error {
	o, err := h.scopedOrder(c)
	if err != nil {
		return err
	}
	o, up := h.refreshOrder(c.UserContext(), o, true)
	if c.Get("HX-Request") != "true" {
		return redirectAfterPost(c, orderURL(o))
	}
	loc := h.zoneFor(c.UserContext(), o.AccountID)
	var notice *views.OrderNotice
	switch {
	case up.Err != nil:
		notice = &views.OrderNotice{Kind: "error", ID: "orders.notice.failed", Data: map[string]any{"Code": gatewayErrorCode(up.Err)}}
	case !up.Called:
		notice = &views.OrderNotice{Kind: "info", ID: "orders.notice.too_soon", Data: map[string]any{"Time": localTimeZ(up.NextAt(), loc)}}
	case !up.Found:
		notice = &views.OrderNotice{Kind: "error", ID: "orders.notice.unknown"}
	default:
		notice = &views.OrderNotice{Kind: "info", ID: "orders.notice.asked", Data: map[string]any{
			"Status": h.T(c, "orders.status."+o.Status), "Latency": up.Latency.Milliseconds()}}
	}
	vm, err := h.orderShowVM(c, o, notice)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.OrderPanel(vm))
}
