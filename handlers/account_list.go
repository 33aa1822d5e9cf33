package handlers

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// AccountStore is what the merchant account pages need from models.Store.
type AccountStore interface {
	Accounts(ctx context.Context) ([]models.MerchantAccount, error)
	Account(ctx context.Context, id int64) (*models.MerchantAccount, error)
	SaveAccount(ctx context.Context, by models.Actor, id int64, in models.AccountInput) (*models.MerchantAccount, error)
	AccountCredentials(a *models.MerchantAccount) (*models.Credentials, error)
}

// AccountList handles GET /accounts: every merchant account with its mids
// and the fingerprint of its credentials, never the credentials.
func (h *Handler) AccountList(c *fiber.Ctx) error {
	accounts, err := h.accounts.Accounts(c.UserContext())
	if err != nil {
		return err
	}
	vm := views.AccountListVM{}
	for _, a := range accounts {
		row := views.AccountRowVM{ID: a.ID, URL: "/accounts/" + strconv.FormatInt(a.ID, 10), Name: a.Name,
			APIKind: a.APIKind, BaseURL: a.BaseURL, GatewayBaseURL: a.GatewayBaseURL, Sandbox: a.Sandbox,
			Fingerprint: a.CredentialsFingerprint, UpdatedAt: h.inZone(a.UpdatedAt, a.TimeZone)}
		for _, m := range a.Mids {
			row.Mids = append(row.Mids, views.AccountMidVM{Mid: m.Mid, Name: m.Name})
		}
		vm.Accounts = append(vm.Accounts, row)
	}
	lp := h.layout(c, "accounts.title")
	lp.Nav = "accounts"
	return render(c, fiber.StatusOK, views.AccountListPage(lp, vm))
}
