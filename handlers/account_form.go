package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// timeZones are suggested in the account form; any IANA zone is accepted.
var timeZones = []string{"Asia/Bangkok", "Asia/Singapore", "Asia/Kuala_Lumpur", "Asia/Jakarta", "Asia/Ho_Chi_Minh",
	"Asia/Manila", "Asia/Hong_Kong", "Asia/Shanghai", "Asia/Tokyo", "Asia/Yangon", "Asia/Phnom_Penh", "Asia/Vientiane", "UTC"}

// accountForm is what the account form posted. Secrets stay in Secrets and
// go nowhere but to the store: never into a view model or a log line.
type accountForm struct {
	Name, APIKind, BaseURL, GatewayBaseURL, TimeZone, MidsText string
	Sandbox                                                    bool
	Mids                                                       []models.Mid
	Secrets                                                    models.CredentialsUpdate
}

// readAccountForm parses the posted form. prev (nil on create) supplies the
// currency of mids that stay.
func readAccountForm(c *fiber.Ctx, prev *models.MerchantAccount) *accountForm {
	f := &accountForm{
		Name:           strings.TrimSpace(c.FormValue("name")),
		APIKind:        c.FormValue("api_kind"),
		BaseURL:        cleanURL(c.FormValue("base_url")),
		GatewayBaseURL: cleanURL(c.FormValue("gateway_base_url")),
		TimeZone:       strings.TrimSpace(c.FormValue("time_zone")),
		MidsText:       c.FormValue("mids"),
		Sandbox:        c.FormValue("sandbox") != "",
	}
	var stored []models.Mid
	if prev != nil {
		stored = prev.Mids
	}
	f.Mids = parseMids(f.MidsText, stored)
	switch f.APIKind {
	case models.APIv3:
		// Ksher's production hosts, unless the owner points elsewhere.
		if f.BaseURL == "" {
			f.BaseURL = gateway.DefaultV3BaseURL
		}
		if f.GatewayBaseURL == "" {
			f.GatewayBaseURL = gateway.DefaultV3GatewayBaseURL
		}
		f.Secrets = models.CredentialsUpdate{
			SharedPrivateKey:    c.FormValue("private_key"),
			PrivateKeys:         map[string]string{},
			KsherPublicKey:      c.FormValue("ksher_public_key"),
			ClearKsherPublicKey: c.FormValue("clear_ksher_public_key") != "",
		}
		for _, m := range f.Mids {
			if k := c.FormValue("key_" + m.Mid); k != "" {
				f.Secrets.PrivateKeys[m.Mid] = k
			}
		}
	case models.APIVIP:
		f.GatewayBaseURL = "" // one host serves everything
		f.Secrets = models.CredentialsUpdate{Token: c.FormValue("token")}
	}
	return f
}

func cleanURL(s string) string {
	return strings.TrimRight(strings.TrimSpace(s), "/")
}

// parseMids reads one mid per line: "mid name...". Blank lines are
// skipped. A mid already stored keeps its currency.
func parseMids(text string, stored []models.Mid) []models.Mid {
	var mids []models.Mid
	for line := range strings.Lines(text) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		m := models.Mid{Mid: fields[0], Name: strings.Join(fields[1:], " ")}
		for _, s := range stored {
			if s.Mid == m.Mid {
				m.Currency = s.Currency
			}
		}
		mids = append(mids, m)
	}
	return mids
}

// midsText is the inverse of parseMids.
func midsText(mids []models.Mid) string {
	var b strings.Builder
	for _, m := range mids {
		b.WriteString(m.Mid)
		if m.Name != "" {
			b.WriteString(" " + m.Name)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// checkPEMs parses every key the form carries, so a key that the gateway
// could not use is refused at once. Problems never quote the key.
func checkPEMs(f *accountForm) models.Problems {
	probs := models.Problems{}
	if f.APIKind != models.APIv3 {
		return probs
	}
	if s := strings.TrimSpace(f.Secrets.SharedPrivateKey); s != "" && !privateKeyOK(s) {
		probs["private_key"] = models.Problem{ID: "accounts.error.key_invalid_shared"}
	}
	for mid, s := range f.Secrets.PrivateKeys {
		if s = strings.TrimSpace(s); s != "" && !privateKeyOK(s) {
			probs["key_"+mid] = models.Problem{ID: "accounts.error.key_invalid", Data: map[string]any{"Mid": mid}}
		}
	}
	if s := strings.TrimSpace(f.Secrets.KsherPublicKey); s != "" {
		if _, err := ksign.ParsePublicKey([]byte(s)); err != nil {
			probs["ksher_public_key"] = models.Problem{ID: "accounts.error.ksher_key_invalid"}
		}
	}
	return probs
}

func privateKeyOK(pemText string) bool {
	k, err := ksign.ParsePrivateKey([]byte(pemText))
	return err == nil && k.Validate() == nil
}

// accountID parses :id; anything but a positive integer is not found.
func accountID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

// accountFormVM builds the form of account a (nil for a new one) as stored,
// or, when f is set, as posted (without its secrets). creds are a's opened
// credentials (nil when unknown); they only say which secrets are stored.
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
func (h *Handler) accountLayout(c *fiber.Ctx, a *models.MerchantAccount) views.LayoutProps {
	if a == nil {
		return h.layout(c, "accounts.new_title")
	}
	lp := h.layout(c, "accounts.title")
	lp.Title = a.Name
	lp.Nav = "accounts"
	return lp
}
