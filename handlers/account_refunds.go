package handlers

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
)

// AccountRefundSettings is a vip account's partial-refund setting (the vip
// API does not tell whether the merchant may refund part of an order).
type AccountRefundSettings interface {
	AllowPartialRefund(ctx context.Context, accountID int64) (bool, error)
	SetAllowPartialRefund(ctx context.Context, by models.Actor, accountID int64, allow bool) error
}

// partialRefunds is a vip account's setting for its page; nil for v3
// accounts (Ksher reports it), new accounts, or when it cannot be read.
func (h *Handler) partialRefunds(c *fiber.Ctx, a *models.MerchantAccount) *bool {
	if a == nil || a.APIKind != models.APIVIP || h.refundSettings == nil {
		return nil
	}
	allow, err := h.refundSettings.AllowPartialRefund(c.UserContext(), a.ID)
	if err != nil {
		h.log.Warn("Cannot read the partial-refund setting.", "account", a.ID, slogErr(err))
		return nil
	}
	return &allow
}

// AccountRefundsUpdate handles POST /accounts/:id/refunds (owners only,
// like the account form): a vip account's "partial refunds allowed",
// audited as an account change.
func (h *Handler) AccountRefundsUpdate(c *fiber.Ctx) error {
	id, err := accountID(c)
	if err != nil {
		return err
	}
	a, err := h.accounts.Account(c.UserContext(), id)
	if err != nil {
		return err
	}
	if a.APIKind != models.APIVIP {
		return fiber.ErrNotFound // v3: Ksher reports it (Test connection asks)
	}
	if err := h.refundSettings.SetAllowPartialRefund(c.UserContext(), actor(c), a.ID, c.FormValue("allow_partial_refund") != ""); err != nil {
		return err
	}
	return redirectAfterPost(c, "/accounts/"+c.Params("id")+"?saved=1")
}
