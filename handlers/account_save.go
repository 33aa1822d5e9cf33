package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

func (h *Handler) saveAccount(c *fiber.Ctx, prev *models.MerchantAccount) error {
	f := readAccountForm(c, prev)
	probs := checkPEMs(f)
	var stored *models.Credentials
	readable := true
	if prev != nil {
		stored, readable = h.openCredentials(c, prev)
	}
	creds, credProbs := f.Secrets.Apply(stored, f.APIKind, f.Mids)
	in := models.AccountInput{Name: f.Name, APIKind: f.APIKind, BaseURL: f.BaseURL, GatewayBaseURL: f.GatewayBaseURL,
		Sandbox: f.Sandbox, TimeZone: f.TimeZone, Mids: f.Mids, Credentials: creds}
	probs.Merge(credProbs)
	probs.Merge(in.Validate())
	var id int64
	var removed []string
	if prev != nil {
		id = prev.ID
		// Dropping a mid also drops everyone's role on it (memberships
		// cascade): the owner confirms that explicitly.
		if _, removed = models.DiffMids(prev.Mids, f.Mids); len(removed) > 0 && c.FormValue("confirm_remove") == "" {
			probs.Add("mids", "accounts.error.confirm_remove", map[string]any{"Mids": strings.Join(removed, ", ")})
		}
	}
	var a *models.MerchantAccount
	if len(probs) == 0 {
		var err error
		a, err = h.accounts.SaveAccount(c.UserContext(), actor(c), id, in)
		if bad := models.AsInvalidInput(err); bad != nil {
			probs.Merge(bad.Problems)
		} else if err != nil {
			return err
		}
	}
	if len(probs) > 0 {
		vm := h.accountFormVM(c, prev, stored, f)
		vm.Errors, vm.CredentialsUnreadable, vm.RemovedMids = problemTexts(c, probs), !readable, removed
		return render(c, fiber.StatusOK, views.AccountFormPage(h.accountLayout(c, prev), vm))
	}
	h.log.Info("Merchant account saved.", "request_id", RequestID(c), "account_id", a.ID, "created", prev == nil)
	return redirectAfterPost(c, "/accounts/"+strconv.FormatInt(a.ID, 10)+"?saved=1")
}

// accountLayout is the shell of the account pages.
