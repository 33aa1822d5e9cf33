package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/views"
)

// AccountNew handles GET /accounts/new: the empty form, with Ksher's
// production hosts as placeholders.
func (h *Handler) AccountNew(c *fiber.Ctx) error {
	return render(c, fiber.StatusOK, views.AccountFormPage(h.accountLayout(c, nil), h.accountFormVM(c, nil, nil, nil)))
}

// AccountCreate handles POST /accounts. Invalid input re-renders the form
// (200) with every problem and stores nothing; the secrets typed are not
// sent back and must be entered again.
func (h *Handler) AccountCreate(c *fiber.Ctx) error {
	return h.saveAccount(c, nil)
}
