package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// RefundCreate handles POST /m/:mid/orders/:id/refunds: a person's refund
// of the order (models.Refunds.Create: one refund per refund number, under
// the order's lock, sent by a job). A problem with the form re-renders the
// panel with it (200) and changes nothing; a support limit answers 403
// with its reason (audited by the service). A plain form then goes to the
// refund's page; htmx gets the panel back with the refund's state. A
// number already used (a double click, a second tab) gives that refund.
func (h *Handler) RefundCreate(c *fiber.Ctx) error {
	o, err := h.scopedOrder(c)
	if err != nil {
		return err
	}
	a := ScopeOf(c).Access.Held(o.Mid)
	if a == nil {
		return fiber.ErrNotFound
	}
	f := &refundForm{Amount: c.FormValue("amount"), Reason: c.FormValue("reason")}
	rf, err := h.refunds.Create(c.UserContext(), actor(c), *a, models.RefundRequest{OrderID: o.ID, RefundNo: c.FormValue("refund_no"),
		Amount: f.Amount, Full: c.FormValue("full") != "", Reason: f.Reason,
		StepUp: models.StepUp{SessionID: sessionID(c), Password: c.FormValue("password"), Code: c.FormValue("code")}})
	if ii := models.AsInvalidInput(err); ii != nil {
		f.Errors = problemTexts(c, refundProblems(ii.Problems))
		return h.renderRefundPanel(c, o, f, nil)
	}
	if err != nil {
		return refundError(err)
	}
	if c.Get("HX-Request") != "true" {
		return redirectAfterPost(c, refundURL(rf))
	}
	fresh, err := h.orderReads.FindOrder(c.UserContext(), []string{o.Mid}, o.ID)
	if err != nil {
		return err
	}
	done := refundRow(rf, o.MchOrderNo, "", h.midZone(ScopeOf(c).Access, o.Mid))
	return h.renderRefundPanel(c, fresh, nil, &done)
}

// renderRefundPanel answers with the panel alone (htmx) or the order page
// around it (a plain form whose input had a problem).
func (h *Handler) renderRefundPanel(c *fiber.Ctx, o *models.Order, f *refundForm, done *views.RefundRowVM) error {
	if c.Get("HX-Request") == "true" {
		p, err := h.refundPanelVM(c, o, f)
		if err != nil || p == nil {
			return orNotFound(err)
		}
		p.Done = done
		return render(c, fiber.StatusOK, views.RefundPanel(*p))
	}
	vm, err := h.orderShowVM(c, o, nil)
	if err != nil {
		return err
	}
	if p := vm.RefundPanel; p != nil && f != nil {
		p.Amount, p.Reason, p.Errors = f.Amount, f.Reason, f.Errors
	}
	return render(c, fiber.StatusOK, views.OrderShowPage(h.layout(c, "orders.detail.page_title"), vm))
}

func orNotFound(err error) error {
	if err != nil {
		return err
	}
	return fiber.ErrNotFound
}
