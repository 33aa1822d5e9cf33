package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/views"
)

// AccountShow handles GET /accounts/:id: the edit form. Secret fields are
// empty; badges say which secrets are stored, and the fingerprint which
// ones.
func (h *Handler) AccountShow(c *fiber.Ctx) error {
	id, err := accountID(c)
	if err != nil {
		return err
	}
	a, err := h.accounts.Account(c.UserContext(), id)
	if err != nil {
		return err
	}
	creds, readable := h.openCredentials(c, a)
	vm := h.accountFormVM(c, a, creds, nil)
	vm.CredentialsUnreadable = !readable
	lp := h.accountLayout(c, a)
	if c.Query("saved") != "" {
		lp.Flash = &views.Flash{Kind: "info", Message: h.T(c, "accounts.saved")}
	}
	return render(c, fiber.StatusOK, views.AccountFormPage(lp, vm))
}

// AccountUpdate handles POST /accounts/:id. Empty secret fields keep the
// stored secrets; invalid input re-renders the form (200) and changes
// nothing.
func (h *Handler) AccountUpdate(c *fiber.Ctx) error {
	id, err := accountID(c)
	if err != nil {
		return err
	}
	prev, err := h.accounts.Account(c.UserContext(), id)
	if err != nil {
		return err
	}
	return h.saveAccount(c, prev)
}
