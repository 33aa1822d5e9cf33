package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/ksherdash/ksherdash/gateway"
)

// Notifications receives what Ksher sends (v3 notifications, vip

// webhooks): it verifies each with the account's keys before anything in

// it is trusted, records it (valid or not), and applies it to the order

// cache. The receivers in handlers only read the request and write the

// answer this service decides (HookResult.Outcome).

type Notifications struct {
	store  *Store
	orders *Orders
	log    *slog.Logger
}

// NewNotifications returns the service; the vip webhooks ask Ksher about

// their order through orders (they carry no amounts).

func NewNotifications(store *Store, orders *Orders, log *slog.Logger) *Notifications {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifications{store: store, orders: orders, log: log}
}

// HookRequest is a received notification as the receiver read it.

type HookRequest struct {
	API       string // NotifyV3 or NotifyVIP
	Account   string // the :account of the receiver's URL
	Method    string
	URI       string // path and query as received
	RemoteIP  string
	RequestID string
	// Body is a v3 notification's body (at most MaxNotificationBody + 1
	// bytes are needed to tell it is too large).
	Body []byte
	// SignedURL is, for a vip webhook, the full URL Ksher signed: the
	// public BASE_URL with the path as received, without the query.
	SignedURL string
}

// HookOutcome is what a receiver answers. Refusals are stored with their

// outcome as the error's code (the event log words them).

type HookOutcome string

// Outcomes of a notification.

const (
	HookAccepted HookOutcome = "accepted" // verified and applied
	HookReplay   HookOutcome = "replay"   // the same notification was handled already
	// HookRetry: verified and stored, but not applied yet (Ksher could not
	// be asked about the order, or was asked moments ago): answered so that
	// Ksher sends it again.
	HookRetry          HookOutcome = "retry"
	HookUnknownAccount HookOutcome = "unknown_account" // the URL names no account
	HookWrongAPI       HookOutcome = "wrong_api"       // a v3 notification to a vip account, or the reverse
	HookAccountConfig  HookOutcome = "account_config"  // the account's credentials cannot verify anything
	HookTooLarge       HookOutcome = "too_large"       // body over MaxNotificationBody
	HookBadRequest     HookOutcome = "bad_request"     // not a notification at all
	HookBadSignature   HookOutcome = "bad_signature"   // the signature does not verify
	HookThrottled      HookOutcome = "throttled"       // too many refused ones to store this one
)

// HookResult is what receiving one notification did.

type HookResult struct {
	Outcome HookOutcome
	Message string // the answer's message
}

// Receive verifies, records and applies one notification. Its error is for

// a failure of our own (the database): the receiver answers 500, and Ksher

// sends the notification again.

func (s *Notifications) Receive(ctx context.Context, req HookRequest) (HookResult, error) {
	n := &Notification{APIKind: req.API, Method: req.Method, URL: Storable([]byte(req.URI), 4096), RemoteIP: req.RemoteIP}
	if req.API == NotifyV3 {
		n.Body = Storable(req.Body, MaxNotificationBody)
		if len(req.Body) > MaxNotificationBody {
			return s.refuse(ctx, req, n, HookTooLarge, "body over 64 KiB")
		}
	}
	api := gateway.APIV3
	if req.API == NotifyVIP {
		api = gateway.APIVIP
	}
	gw, a, outcome, detail, err := s.account(ctx, n, req.Account, api)
	if err != nil {
		return HookResult{}, err
	}
	if outcome != "" {
		return s.refuse(ctx, req, n, outcome, detail)
	}
	if req.API == NotifyV3 {
		return s.receiveV3(ctx, req, n, gw, a)
	}
	return s.receiveVIP(ctx, req, n, gw, a)
}

// account resolves the :account of a receiver's URL to its gateway client,

// which holds the keys that verify the notification. A refusal comes back

// as its outcome and detail; err is a failure of the database.

func (s *Notifications) account(ctx context.Context, n *Notification, param string, api gateway.APIKind) (*gateway.Client, *MerchantAccount, HookOutcome, string, error) {
	id, err := strconv.ParseInt(param, 10, 64)
	if err != nil || id <= 0 {
		return nil, nil, HookUnknownAccount, "the URL names no account", nil
	}
	gw, a, err := s.orders.Clients().For(ctx, id)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		return nil, nil, HookUnknownAccount, "no account " + strconv.FormatInt(id, 10), nil
	case errors.Is(err, ErrGatewayConfig):
		n.AccountID = &id
		return nil, nil, HookAccountConfig, err.Error(), nil
	case err != nil:
		return nil, nil, "", "", err
	}
	n.AccountID = &a.ID
	if gw.API() != api {
		return nil, nil, HookWrongAPI, "account " + strconv.FormatInt(id, 10) + " uses the " + string(gw.API()) + " API", nil
	}
	return gw, a, "", "", nil
}

// refuse stores a refused notification (within the budget for those) and

// returns the refusal, so the receiver answers with a non-success status

// and Ksher sends a genuine one again.

func (s *Notifications) refuse(ctx context.Context, req HookRequest, n *Notification, outcome HookOutcome, detail string) (HookResult, error) {
	ok, err := s.store.AllowInvalidNotification(ctx)
	if err != nil {
		return HookResult{}, err
	}
	if !ok {
		s.log.Warn("Refused notification not stored: too many in the last minute.", "api", n.APIKind, "remote_ip", n.RemoteIP)
		return HookResult{Outcome: HookThrottled, Message: "too many invalid notifications"}, nil
	}
	n.Valid, n.Error = false, string(outcome)+": "+detail
	if _, err := s.store.SaveNotification(ctx, n, nil); err != nil {
		return HookResult{}, err
	}
	s.log.Warn("Notification refused.", "api", n.APIKind, "reason", outcome, "remote_ip", n.RemoteIP, "request_id", req.RequestID)
	return HookResult{Outcome: outcome, Message: string(outcome)}, nil
}

// receiveV3 handles a v3 payment notification (API.md A.6): its sign is

// verified over data with the account's Ksher public key; it is stored raw

// with the order's new state, in one transaction.

func (s *Notifications) receiveV3(ctx context.Context, req HookRequest, n *Notification, gw *gateway.Client, a *MerchantAccount) (HookResult, error) {
	note, err := gw.Notifications.ParseV3(req.Body)
	if err != nil {
		return s.refuse(ctx, req, n, HookBadSignature, err.Error())
	}
	n.Valid, n.Mid, n.MchOrderNo, n.Status = true, note.Mid, note.MerchantOrderID, string(note.Status)
	n.Digest = hookDigest(NotifyV3, a.ID, note.Signature)
	u := notificationUpdate(a.ID, note)
	saved, err := s.store.SaveNotification(ctx, n, &u)
	if err != nil {
		return HookResult{}, err
	}
	s.log.Info("Notification received.", "api", n.APIKind, "mid", n.Mid, "order", n.MchOrderNo, "status", n.Status,
		"changed", n.Changed, "replay", n.Replay, "stored", saved.Stored, "request_id", req.RequestID)
	return HookResult{Outcome: HookAccepted, Message: "OK"}, nil
}

// notificationUpdate maps a verified v3 notification to a cache update

// through the order cache's own mapping (OrderUpdateFrom, for a KsherPay

// order; OrderUpdateFromLink, for a payment link, whose notification also

// names the KsherPay order behind it), marked as told by a notification.

func notificationUpdate(accountID int64, n *gateway.Notification) OrderUpdate {
	var u OrderUpdate
	if n.Type == "payment_link" {
		u = OrderUpdateFromLink(accountID, &gateway.PaymentLink{Meta: n.Meta, Mid: n.Mid, MerchantOrderID: n.MerchantOrderID,
			Amount: n.Amount, Currency: n.Currency, Channel: n.Channel, KsherOrderID: n.KsherOrderID, PayOrderID: n.PayOrderID,
			ChannelOrderID: n.ChannelOrderID, PaidAt: n.PaidAt, Status: n.Status})
	} else {
		u = OrderUpdateFrom(accountID, OrderKindKsherPay, &gateway.Order{Meta: n.Meta, Mid: n.Mid, MerchantOrderID: n.MerchantOrderID,
			KsherOrderID: n.KsherOrderID, ChannelOrderID: n.ChannelOrderID, Channel: n.Channel, Amount: n.Amount, Currency: n.Currency,
			PaidAt: n.PaidAt, Status: n.Status})
	}
	u.Source, u.Event, u.Notified, u.Checked = "notification", "notification", true, true
	u.Summary = "notification: " + string(n.Status)
	if n.RawStatus != "" {
		u.Summary += " (" + n.RawStatus + ")"
	}
	return u
}

// receiveVIP handles a vip webhook (API.md B.5). Its HMAC covers the full

// URL Ksher called (req.SignedURL plus the query). A verified webhook is

// stored; then, since it carries no amounts, the order is asked about once

// (through the order cache's upstream guard) and the answer stored.

func (s *Notifications) receiveVIP(ctx context.Context, req HookRequest, n *Notification, gw *gateway.Client, a *MerchantAccount) (HookResult, error) {
	_, rawQuery, _ := strings.Cut(req.URI, "?")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return s.refuse(ctx, req, n, HookBadRequest, "query does not parse")
	}
	note, err := gw.Notifications.ParseVIP(req.SignedURL, query)
	if err != nil {
		return s.refuse(ctx, req, n, HookBadSignature, err.Error())
	}
	n.Valid, n.MchOrderNo, n.Status = true, note.MerchantOrderID, string(note.Status)
	n.Digest = hookDigest(NotifyVIP, a.ID, note.Signature)
	cached, err := s.store.CachedOrderOfAccount(ctx, a.ID, note.MerchantOrderID)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return HookResult{}, err
	}
	if cached != nil {
		n.Mid = cached.Mid
	}
	saved, err := s.store.SaveNotification(ctx, n, nil)
	if err != nil {
		return HookResult{}, err
	}
	if n.Replay {
		s.log.Info("Webhook received again; already handled.", "order", n.MchOrderNo, "stored", saved.Stored, "request_id", req.RequestID)
		return HookResult{Outcome: HookReplay, Message: "already handled"}, nil
	}
	o, asked, err := s.webhookQuery(ctx, a, cached, note.MerchantOrderID)
	if err != nil {
		// Unhandled: Ksher retries every 5 s (6 times), and the retry asks again.
		s.log.Warn("Webhook could not be checked with Ksher.", "order", n.MchOrderNo, slog.Any("error", err), "request_id", req.RequestID)
		return HookResult{Outcome: HookRetry, Message: "cannot ask Ksher about the order now"}, nil
	}
	agrees := o != nil && webhookAgrees(note.Status, o.Status)
	if !agrees && !asked {
		// Ksher was asked about this order under 10 s ago, before this
		// change: answer "not yet" so the retry asks again.
		return HookResult{Outcome: HookRetry, Message: "asked about the order moments ago; retry"}, nil
	}
	changed := o != nil && (cached == nil || o.Status != cached.Status || o.Amount != cached.Amount || o.KsherOrderNo != cached.KsherOrderNo)
	if err := s.store.HandleNotification(ctx, n.ID, o, changed, agrees); err != nil {
		return HookResult{}, err
	}
	if o != nil {
		summary := "webhook: " + note.Message + " → " + o.Status
		if err := s.store.AddOrderEvent(ctx, o.ID, "notification", summary, agrees, 0, nil); err != nil {
			s.log.Warn("Cannot record the webhook in the timeline.", "order_id", o.ID, slog.Any("error", err))
		}
	}
	s.log.Info("Webhook received.", "order", n.MchOrderNo, "message", note.Message, "asked", asked, "changed", changed, "request_id", req.RequestID)
	return HookResult{Outcome: HookAccepted, Message: "OK"}, nil
}

// webhookQuery asks Ksher about the order a webhook names: a cached order

// through the order cache's refresh, an unknown one through a live search

// on the account's mids. It returns the order as cached afterwards (nil if

// Ksher does not know it) and whether this call asked Ksher.

func (s *Notifications) webhookQuery(ctx context.Context, a *MerchantAccount, cached *Order, id string) (*Order, bool, error) {
	if cached != nil {
		o, up := s.orders.Refresh(ctx, cached, true)
		return o, up.Called, up.Err
	}
	asked := false
	for _, m := range a.Mids {
		// No lookup budget (nil search): this is Ksher telling us about an
		// order, not a person searching, and its notifications are signed,
		// so only Ksher sets their pace. Refusing one would delay a
		// payment's confirmation until Ksher's retries run out.
		up := s.orders.FindLive(ctx, MidAccess{Mid: m}, id, nil)
		asked = asked || up.Called
		if up.Err != nil {
			return nil, asked, up.Err
		}
		if up.Found {
			o, err := s.store.CachedOrderOfAccount(ctx, a.ID, id)
			return o, asked, err
		}
	}
	return nil, asked, nil
}

// webhookAgrees reports whether the cached state is the one the webhook

// announced, or one that can only come after it.

func webhookAgrees(said gateway.Status, cached string) bool {
	switch said {
	case gateway.StatusPaid:
		return cached == StatusPaid || cached == StatusPartiallyRefunded || cached == StatusRefunded
	case gateway.StatusRefunded:
		return cached == StatusPartiallyRefunded || cached == StatusRefunded
	case gateway.StatusClosed:
		return cached == StatusClosed || cached == StatusFailed
	}
	return cached != ""
}

// hookDigest identifies a notification by its signed content: Ksher's

// signatures are deterministic (RSA PKCS#1 v1.5, HMAC), so the same

// notification sent again has the same digest, and another one a different

// digest.

func hookDigest(api string, accountID int64, signature string) string {
	sum := sha256.Sum256([]byte(api + "\x00" + strconv.FormatInt(accountID, 10) + "\x00" + signature))
	return hex.EncodeToString(sum[:])
}
