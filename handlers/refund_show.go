package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// RefundShow handles GET /m/:mid/refunds/:id: one refund with its order,
// Ksher's last answer (redacted), the attempts and checks made and its
// lines of the order's timeline. htmx polling a pending refund's state
// gets the state box alone (it stops asking once the refund is settled).
func (h *Handler) RefundShow(c *fiber.Ctx) error {
	c.Vary("HX-Request")
	sc := ScopeOf(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	ctx := c.UserContext()
	found, err := h.refundReads.FindRefundRow(ctx, sc.Mids(), id)
	if err != nil {
		return err
	}
	rf := &found.Refund
	loc := h.midZone(sc.Access, rf.Mid)
	row := refundRow(rf, found.MchOrderNo, found.RequesterEmail, loc)
	if isPartial(c) {
		return h.refundStatePoll(c, rf, row)
	}
	row.URL = "" // the state box links to this page: not here
	vm := views.RefundShowVM{Refund: row, ChannelRefundNo: rf.ChannelRefundNo, Zone: loc.String(), Error: rf.Error,
		ErrorCode: rf.ErrorCode, Attempts: rf.Attempts, Checks: rf.Checks, SentAt: momentPtr(rf.SentAt, loc),
		CheckedAt: momentPtr(rf.CheckedAt, loc), DecidedAt: momentPtr(rf.DecidedAt, loc), Resolution: rf.Resolution,
		Raw: models.RedactedRaw(rf.Raw)}
	events, err := h.orderReads.OrderEvents(ctx, rf.OrderID)
	if err != nil {
		return err
	}
	for i := range events {
		if d, ok := events[i].Details(); ok && d.RefundNo == rf.MchRefundNo {
			vm.Timeline = append(vm.Timeline, timelineEntry(ctx, &events[i], loc))
		}
	}
	return render(c, fiber.StatusOK, views.RefundShowPage(h.layout(c, "refund.show.page_title"), vm))
}

// refundStatePoll answers htmx polling a refund's state box: the box while
// the refund is pending; once settled, on the order page the whole order
// panel (its amounts, refunds and timeline changed too) with the outcome
// in the refund panel, elsewhere (the refund's page) a reload.
func (h *Handler) refundStatePoll(c *fiber.Ctx, rf *models.Refund, row views.RefundRowVM) error {
	onOrder := strings.Contains(c.Get("HX-Current-URL"), "/orders/")
	if !onOrder {
		row.URL = "" // polled on the refund's own page
	}
	if rf.Status == models.RefundPending {
		return render(c, fiber.StatusOK, views.RefundState(row))
	}
	if !onOrder {
		c.Set("HX-Refresh", "true")
		return render(c, fiber.StatusOK, views.RefundState(row))
	}
	o, err := h.orderReads.FindOrder(c.UserContext(), []string{rf.Mid}, rf.OrderID)
	if err != nil {
		return err
	}
	vm, err := h.orderShowVM(c, o, nil)
	if err != nil {
		return err
	}
	if vm.RefundPanel != nil {
		vm.RefundPanel.Done = &row
	}
	c.Set("HX-Retarget", "#order-panel")
	c.Set("HX-Reswap", "outerHTML")
	return render(c, fiber.StatusOK, views.OrderPanel(vm))
}
