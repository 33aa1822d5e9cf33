package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// timeZones are suggested in the account form; any IANA zone is accepted.

// accountForm is what the account form posted. Secrets stay in Secrets and

// go nowhere but to the store: never into a view model or a log line.

// readAccountForm parses the posted form. prev (nil on create) supplies the

// currency of mids that stay.

// parseMids reads one mid per line: "mid name...". Blank lines are

// skipped. A mid already stored keeps its currency.

// midsText is the inverse of parseMids.

// checkPEMs parses every key the form carries, so a key that the gateway

// could not use is refused at once. Problems never quote the key.

func (h *Handler) accountFormVM(c *fiber.Ctx, a *models.MerchantAccount, creds *models.Credentials, f *accountForm) views.AccountFormVM {
	vm := views.AccountFormVM{
		Action:                "/accounts",
		APIKind:               models.APIv3,
		TimeZone:              h.cfg.Location.String(),
		TimeZones:             timeZones,
		DefaultBaseURL:        gateway.DefaultV3BaseURL,
		DefaultGatewayBaseURL: gateway.DefaultV3GatewayBaseURL,
	}
	var mids []models.Mid
	if a != nil {
		vm.ID, vm.Action = a.ID, "/accounts/"+strconv.FormatInt(a.ID, 10)
		vm.Name, vm.APIKind, vm.BaseURL, vm.GatewayBaseURL = a.Name, a.APIKind, a.BaseURL, a.GatewayBaseURL
		vm.Sandbox, vm.TimeZone, vm.MidsText, mids = a.Sandbox, a.TimeZone, midsText(a.Mids), a.Mids
		vm.Fingerprint, vm.UpdatedAt = a.CredentialsFingerprint, h.inZone(a.UpdatedAt, a.TimeZone)
		vm.PartialRefunds, vm.PartialRefundsURL = h.partialRefunds(c, a), vm.Action+"/refunds"
	}
	if f != nil {
		vm.Name, vm.APIKind, vm.BaseURL, vm.GatewayBaseURL = f.Name, f.APIKind, f.BaseURL, f.GatewayBaseURL
		vm.Sandbox, vm.TimeZone, vm.MidsText, mids = f.Sandbox, f.TimeZone, f.MidsText, f.Mids
	}
	if creds == nil {
		creds = &models.Credentials{}
	}
	seen := map[string]bool{}
	for _, m := range mids {
		if seen[m.Mid] || m.Mid == "" {
			continue
		}
		seen[m.Mid] = true
		_, stored := creds.PrivateKeys[m.Mid]
		vm.KeyMids = append(vm.KeyMids, views.AccountKeyVM{Mid: m.Mid, Stored: stored})
	}
	vm.HasKsherKey, vm.HasToken = creds.KsherPublicKey != "", creds.Token != ""
	return vm
}

// openCredentials opens a's stored credentials. A failure (SECRET_KEY

// changed) is logged and reported as unreadable: the owner then enters

// every secret again.

func (h *Handler) openCredentials(c *fiber.Ctx, a *models.MerchantAccount) (*models.Credentials, bool) {
	creds, err := h.accounts.AccountCredentials(a)
	if err != nil {
		h.log.Warn("Stored credentials do not open.", "request_id", RequestID(c), "account_id", a.ID, slogErr(err))
		return nil, false
	}
	return creds, true
}

// saveAccount is the body of create (prev nil) and update: validate, and

// either re-render the form with the problems, changing nothing, or save,

// audit and redirect to the account's page.

func (h *Handler) accountLayout(c *fiber.Ctx, a *models.MerchantAccount) views.LayoutProps {
	if a == nil {
		return h.layout(c, "accounts.new_title")
	}
	lp := h.layout(c, "accounts.title")
	lp.Title = a.Name
	lp.Nav = "accounts"
	return lp
}
