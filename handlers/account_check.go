package handlers

// This file is account_check.go, not account_test.go: a name ending in
// _test.go would make it a test file.

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// AccountTester is what "Test connection" needs: models.Accounts.
type AccountTester interface {
	TestConnection(ctx context.Context, by models.Actor, id int64) (*models.AccountCheck, error)
}

// AccountCheck handles POST /accounts/:id/test ("Test connection"): one
// real signed call per mid (models.Accounts.TestConnection, audited), each
// answer shown. htmx gets the result partial; a plain form gets the account
// page with it. When no mid got an answer because Ksher did not answer in
// time or failed itself, that is the answer: 504 or 502 (web).
func (h *Handler) AccountCheck(c *fiber.Ctx) error {
	id, err := accountID(c)
	if err != nil {
		return err
	}
	check, err := h.accountTests.TestConnection(c.UserContext(), actor(c), id)
	if err != nil {
		return err
	}
	res := h.accountTestVM(c, check)
	h.log.Info("Account connection tested.", "request_id", RequestID(c), "account_id", id, "ok", res.OK)
	if err := check.Unanswered(); err != nil {
		return err
	}
	if isPartial(c) {
		return render(c, fiber.StatusOK, views.AccountTestResult(res))
	}
	a := check.Account
	creds, readable := h.openCredentials(c, a)
	vm := h.accountFormVM(c, a, creds, nil)
	vm.CredentialsUnreadable, vm.Test = !readable, &res
	return render(c, fiber.StatusOK, views.AccountFormPage(h.accountLayout(c, a), vm))
}

// accountTestVM words a connection test for the page.
func (h *Handler) accountTestVM(c *fiber.Ctx, check *models.AccountCheck) views.AccountTestVM {
	res := views.AccountTestVM{OK: check.OK, At: h.inZone(check.At, check.Account.TimeZone)}
	if check.ConfigError {
		res.At, res.Error = h.configured(check.At), h.T(c, "accounts.test.config_error") // no account zone known
	}
	ctx := c.UserContext()
	for _, m := range check.Mids {
		row := views.AccountTestRowVM{Mid: m.Mid, OK: m.OK, Kind: m.Kind, Code: m.Code, Message: m.Message,
			HTTPStatus: m.HTTPStatus, LatencyMS: m.Latency.Milliseconds()}
		switch {
		case !m.OK:
			row.KindLabel = views.T(ctx, "accounts.test.kind."+m.Kind)
		case check.Account.APIKind == models.APIv3:
			row.Summary = views.Tf(ctx, "accounts.test.ok_v3", map[string]any{"Merchant": orDash(m.MerchantID), "Type": orDash(m.AccountType)})
		default:
			row.Summary = views.Tf(ctx, "accounts.test.ok_vip", map[string]any{"Count": len(m.Channels), "Channels": strings.Join(m.Channels, ", ")})
		}
		res.Results = append(res.Results, row)
	}
	return res
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
