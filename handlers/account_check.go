package handlers

// This file is account_check.go, not account_test.go: a name ending in
// _test.go would make it a test file.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models"
	"github.com/ksherdash/ksherdash/views"
)

// accountCheckTimeout bounds "Test connection" as a whole (all mids).
const accountCheckTimeout = 20 * time.Second

// AccountCheck handles POST /accounts/:id/test ("Test connection"): it
// builds the account's gateway client from the stored credentials and makes
// one real signed call per mid (v3 merchant_info, whose answer Ksher signs;
// vip the channel list), then shows each answer and audits the outcome.
// htmx gets the result partial; a plain form gets the account page with it.
func (h *Handler) AccountCheck(c *fiber.Ctx) error {
	id, err := accountID(c)
	if err != nil {
		return err
	}
	a, err := h.store.Account(c.UserContext(), id)
	if err != nil {
		return err
	}
	res, rows := h.checkAccount(c, id)
	details := map[string]any{"account_id": id, "ok": res.OK, "results": rows}
	if res.Error != "" {
		details["error"] = "configuration"
	}
	if err := h.audit(c, models.AuditAccountTest, a.Name, "", details); err != nil {
		return err
	}
	h.log.Info("Account connection tested.", "request_id", RequestID(c), "account_id", id, "ok", res.OK)
	if isPartial(c) {
		return render(c, fiber.StatusOK, views.AccountTestResult(res))
	}
	creds, readable := h.openCredentials(c, a)
	vm := h.accountFormVM(c, a, creds, nil)
	vm.CredentialsUnreadable, vm.Test = !readable, &res
	return render(c, fiber.StatusOK, views.AccountFormPage(h.accountLayout(c, a), vm))
}

// checkAccount calls Ksher once per mid of account id, concurrently, and
// returns the view of the answers and their audit summary.
func (h *Handler) checkAccount(c *fiber.Ctx, id int64) (views.AccountTestVM, []map[string]any) {
	ctx, cancel := context.WithTimeout(c.UserContext(), accountCheckTimeout)
	defer cancel()
	res := views.AccountTestVM{At: h.formatTime(time.Now())}
	client, a, err := h.orderCache.Clients().For(ctx, id)
	if err != nil {
		// The error names the problem (which key does not parse), never
		// the key itself.
		h.log.Warn("Cannot build the account's gateway client.", "request_id", RequestID(c), "account_id", id, slogErr(err))
		res.Error = h.T(c, "accounts.test.config_error")
		return res, nil
	}
	res.At = h.formatTimeIn(time.Now(), a.TimeZone)
	res.Results = make([]views.AccountTestRowVM, len(a.Mids))
	reqID := RequestID(c)
	var wg sync.WaitGroup
	for i, m := range a.Mids {
		wg.Go(func() { res.Results[i] = h.checkMid(ctx, reqID, client, a.APIKind, m.Mid) })
	}
	wg.Wait()
	res.OK = len(res.Results) > 0
	rows := make([]map[string]any, 0, len(res.Results))
	for _, r := range res.Results {
		res.OK = res.OK && r.OK
		row := map[string]any{"mid": r.Mid, "ok": r.OK, "latency_ms": r.LatencyMS}
		if !r.OK {
			row["kind"], row["code"], row["message"], row["http_status"] = r.Kind, r.Code, r.Message, r.HTTPStatus
		}
		rows = append(rows, row)
	}
	return res, rows
}

// checkMid makes the signed call for one mid. Its answer verified is the
// proof that the keys (or token) work both ways.
func (h *Handler) checkMid(ctx context.Context, reqID string, client *gateway.Client, kind, mid string) views.AccountTestRowVM {
	row := views.AccountTestRowVM{Mid: mid}
	start := time.Now()
	var err error
	switch kind {
	case models.APIv3:
		var mi *gateway.MerchantInfo
		if mi, err = client.Merchant.Info(ctx, &gateway.MerchantInfoParams{Mid: mid}); err == nil {
			row.Summary = views.Tf(ctx, "accounts.test.ok_v3", map[string]any{"Merchant": orDash(mi.MerchantID), "Type": orDash(mi.AccountType)})
		}
	default:
		var cl *gateway.ChannelList
		if cl, err = client.Channels.List(ctx, &gateway.ChannelListParams{Mid: mid}); err == nil {
			names := make([]string, 0, len(cl.Channels))
			for _, ch := range cl.Channels {
				names = append(names, ch.Name)
			}
			row.Summary = views.Tf(ctx, "accounts.test.ok_vip", map[string]any{"Count": len(names), "Channels": strings.Join(names, ", ")})
		}
	}
	row.LatencyMS = time.Since(start).Milliseconds()
	if err == nil {
		row.OK = true
		return row
	}
	ge := &gateway.Error{Kind: gateway.KindTransport, Err: err}
	errors.As(err, &ge)
	row.Kind, row.Code, row.HTTPStatus = string(ge.Kind), ge.Code, ge.HTTPStatus
	row.KindLabel = views.T(ctx, "accounts.test.kind."+string(ge.Kind))
	row.Message = ge.Message
	if cause := ge.Unwrap(); cause != nil && (ge.Kind == gateway.KindTransport || ge.Kind == gateway.KindTimeout) {
		row.Message = strings.TrimSpace(row.Message + " (" + cause.Error() + ")")
	}
	h.log.Info("Account check failed.", "request_id", reqID, "mid", mid, "kind", row.Kind, "code", row.Code)
	return row
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
