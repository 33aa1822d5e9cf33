package models

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
)

// accountCheckTimeout bounds "Test connection" as a whole (all mids).
const accountCheckTimeout = 20 * time.Second

// Accounts is the service behind the merchant account pages that ask
// Ksher: "Test connection". Saving an account needs only the database
// (Store.SaveAccount).
type Accounts struct {
	store   *Store
	clients *GatewayClients
	log     *slog.Logger
	now     func() time.Time
}

// NewAccounts returns the service, asking Ksher through clients.
func NewAccounts(store *Store, clients *GatewayClients, log *slog.Logger) *Accounts {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Accounts{store: store, clients: clients, log: log, now: time.Now}
}

// AccountCheck is the outcome of one "Test connection".
type AccountCheck struct {
	Account *MerchantAccount
	At      time.Time
	OK      bool
	// ConfigError: the stored credentials make no client (a key that does
	// not parse); nothing was sent.
	ConfigError bool
	Mids        []MidCheck
}

// MidCheck is Ksher's answer for one mid.
type MidCheck struct {
	Mid     string
	OK      bool
	Latency time.Duration
	// On success: what Ksher said (v3 merchant_info; vip the channel list).
	MerchantID, AccountType string
	Channels                []string
	// On failure: the gateway error, without secrets, and its domain
	// meaning (GatewayError).
	Kind       string
	Code       string
	Message    string
	HTTPStatus int
	Err        error
}

// Unanswered returns, when no mid got an answer because Ksher did not
// answer in time or failed itself (5xx), the first mid's error
// (EGATEWAYTIMEOUT, EBADGATEWAY): Ksher's answer is then the whole
// outcome. Otherwise nil: refused credentials, signatures that do not
// verify and hosts that cannot be reached are what the test shows per mid.
func (c *AccountCheck) Unanswered() error {
	if len(c.Mids) == 0 {
		return nil
	}
	for _, m := range c.Mids {
		if m.OK || (m.Kind != string(gateway.KindTimeout) && m.HTTPStatus < 500) {
			return nil
		}
	}
	return c.Mids[0].Err
}

// TestConnection builds account id's client from its stored credentials
// and makes one real signed call per mid, at once (v3 merchant_info, whose
// answer Ksher signs; vip the channel list): a verified answer proves the
// keys or token work both ways. The outcome is audited (account_test).
// ENOTFOUND for an unknown account.
func (s *Accounts) TestConnection(ctx context.Context, by Actor, id int64) (*AccountCheck, error) {
	a, err := s.store.Account(ctx, id)
	if err != nil {
		return nil, err
	}
	res := &AccountCheck{Account: a, At: s.now()}
	cctx, cancel := context.WithTimeout(ctx, accountCheckTimeout)
	defer cancel()
	client, built, err := s.clients.For(cctx, id)
	switch {
	case errors.Is(err, ErrGatewayConfig):
		// The error names the problem (which key does not parse), never
		// the key itself.
		s.log.Warn("Cannot build the account's gateway client.", "request_id", by.RequestID, "account_id", id, slog.Any("error", err))
		res.ConfigError = true
	case err != nil:
		return nil, err
	default:
		res.Account = built
		res.Mids = make([]MidCheck, len(built.Mids))
		var wg sync.WaitGroup
		for i, m := range built.Mids {
			wg.Go(func() { res.Mids[i] = s.checkMid(cctx, by.RequestID, client, built.APIKind, m.Mid) })
		}
		wg.Wait()
	}
	res.OK = len(res.Mids) > 0
	rows := make([]map[string]any, 0, len(res.Mids))
	for _, r := range res.Mids {
		res.OK = res.OK && r.OK
		row := map[string]any{"mid": r.Mid, "ok": r.OK, "latency_ms": r.Latency.Milliseconds()}
		if !r.OK {
			row["kind"], row["code"], row["message"], row["http_status"] = r.Kind, r.Code, r.Message, r.HTTPStatus
		}
		rows = append(rows, row)
	}
	details := map[string]any{"account_id": id, "ok": res.OK, "results": rows}
	if res.ConfigError {
		details["error"] = "configuration"
	}
	if err := s.store.Audit(ctx, by, AuditAccountTest, a.Name, "", details); err != nil {
		return nil, err
	}
	return res, nil
}

// checkMid makes the signed call for one mid.
func (s *Accounts) checkMid(ctx context.Context, reqID string, client *gateway.Client, kind, mid string) MidCheck {
	row := MidCheck{Mid: mid}
	start := time.Now()
	var err error
	switch kind {
	case APIv3:
		var mi *gateway.MerchantInfo
		if mi, err = client.Merchant.Info(ctx, &gateway.MerchantInfoParams{Mid: mid}); err == nil {
			row.MerchantID, row.AccountType = mi.MerchantID, mi.AccountType
			// What Ksher reports of partial refunds is kept for the refund
			// panel ("reported by Ksher": the field is not signed).
			if rerr := s.store.RecordPartialRefundReport(ctx, mid, mi.AllowPartialRefund); rerr != nil {
				s.log.Warn("Cannot record what Ksher reports of partial refunds.", "mid", mid, slog.Any("error", rerr))
			}
		}
	default:
		var cl *gateway.ChannelList
		if cl, err = client.Channels.List(ctx, &gateway.ChannelListParams{Mid: mid}); err == nil {
			for _, ch := range cl.Channels {
				row.Channels = append(row.Channels, ch.Name)
			}
		}
	}
	row.Latency = time.Since(start)
	if err == nil {
		row.OK = true
		return row
	}
	ge := &gateway.Error{Kind: gateway.KindTransport, Err: err}
	errors.As(err, &ge)
	row.Kind, row.Code, row.HTTPStatus, row.Message = string(ge.Kind), ge.Code, ge.HTTPStatus, ge.Message
	if cause := ge.Unwrap(); cause != nil && (ge.Kind == gateway.KindTransport || ge.Kind == gateway.KindTimeout) {
		row.Message = strings.TrimSpace(row.Message + " (" + cause.Error() + ")")
	}
	row.Err = GatewayError(err)
	s.log.Info("Account check failed.", "request_id", reqID, "mid", mid, "kind", row.Kind, "code", row.Code)
	return row
}
