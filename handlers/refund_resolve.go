package handlers

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// RefundResolver decides unknown refunds by hand (models.Refunds.Resolve).
type RefundResolver interface {
	Resolve(ctx context.Context, by models.Actor, a models.MidAccess, refundID int64, state, reason string) (*models.Refund, error)
}

// RefundResolve handles POST /m/:mid/refunds/:id/resolve, the drift page's
// form: a person who checked with Ksher says an unknown refund succeeded
// or failed, and why (audited by the service). A problem with the form
// shows the drift page again with it (200); done, the refund's page.
func (h *Handler) RefundResolve(c *fiber.Ctx) error {
	sc := ScopeOf(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	a := sc.Access.Held(sc.Mid)
	if a == nil {
		return fiber.ErrNotFound
	}
	rf, err := h.resolver.Resolve(c.UserContext(), actor(c), *a, id, c.FormValue("state"), c.FormValue("reason"))
	if ii := models.AsInvalidInput(err); ii != nil {
		return h.renderDrift(c, func(vm *views.DriftVM) {
			vm.ResolveErrors = map[int64]map[string]string{id: problemTexts(c, ii.Problems)}
			vm.ResolveReason = map[int64]string{id: c.FormValue("reason")}
		})
	}
	if err != nil {
		return err
	}
	return redirectAfterPost(c, refundURL(rf))
}

// driftRefunds lists the unknown refunds of the drift page's mids, with a
// resolve form on the mids where the person may refund.
func (h *Handler) driftRefunds(c *fiber.Ctx, sc *Scope) ([]views.DriftRefundRow, error) {
	rows, err := h.refundReads.UnknownRefunds(c.UserContext(), sc.Mids(), driftListLimit)
	if err != nil {
		return nil, err
	}
	var out []views.DriftRefundRow
	for i := range rows {
		r := &rows[i]
		loc := h.midZone(sc.Access, r.Mid)
		row := views.DriftRefundRow{RefundRowVM: refundRow(&r.Refund, r.MchOrderNo, r.RequesterEmail, loc),
			UnknownSince: momentPtr(r.UnknownSince, loc), Checks: r.Checks}
		if sc.Access.Can(r.Mid, models.ActRefund) {
			row.ResolveURL = refundURL(&r.Refund) + "/resolve"
		}
		out = append(out, row)
	}
	return out, nil
}
