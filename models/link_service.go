package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/riverqueue/river"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/models/money"
)

// Links is the service behind payment links: the form (Form: its minted
// number and the mid's channels), Create and Clone (one transaction: the
// row, the spent form number, the audit entry and the resolve job; then
// Ksher's gateway_pay / vip redirect create), Cancel, and the expiry job
// (link_jobs.go). A link's live state follows its order row, which
// notifications, webhooks and refreshes keep (Store.followOrderTx).
//
// Exactly one link per intent: the number (mch_order_no) is minted with
// the form (link_drafts), is the key of the row (UNIQUE (mid,
// mch_order_no)) and is sent to Ksher once. An unclear answer to the
// create is followed by a query by that number, never a second create.
type Links struct {
	store   *Store
	orders  *Orders
	clients *GatewayClients
	jobs    JobInserter
	log     *slog.Logger
	cfg     LinksConfig
}

// LinksConfig configures the payment link service.
type LinksConfig struct {
	// BaseURL is the public URL of ksherdash: v3 links are sent with
	// mch_notify_url BaseURL + "/hooks/ksher/v3/{account}" (vip webhooks
	// are set in Ksher's back office), and the default pages are
	// BaseURL + "/pay/done" and "/pay/failed".
	BaseURL string
	// SuccessURL and FailURL replace those default pages.
	SuccessURL, FailURL string
	// MaxLifetime bounds a link's expiry; default and at most
	// MaxLinkLifetime.
	MaxLifetime time.Duration
	// ChannelsFor is how long a mid's channel list is used before Ksher is
	// asked again; default 1 h.
	ChannelsFor time.Duration
	// ExpireEvery is the expiry job's period; default 1 min, < 0: none
	// (tests that expire by hand).
	ExpireEvery time.Duration
	// ResolveAfter is when the resolve job asks Ksher about a link still
	// creating (an answer lost, the process stopped mid-call); default 1 min.
	ResolveAfter time.Duration
}

// NewLinks returns the service and registers its jobs with jobs.
func NewLinks(store *Store, orders *Orders, jobs *Jobs, log *slog.Logger, cfg LinksConfig) (*Links, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.MaxLifetime <= 0 || cfg.MaxLifetime > MaxLinkLifetime {
		cfg.MaxLifetime = MaxLinkLifetime
	}
	if cfg.ChannelsFor <= 0 {
		cfg.ChannelsFor = time.Hour
	}
	if cfg.ExpireEvery == 0 {
		cfg.ExpireEvery = time.Minute
	}
	if cfg.ResolveAfter <= 0 {
		cfg.ResolveAfter = time.Minute
	}
	if cfg.BaseURL != "" {
		if cfg.SuccessURL == "" {
			cfg.SuccessURL = cfg.BaseURL + "/pay/done"
		}
		if cfg.FailURL == "" {
			cfg.FailURL = cfg.BaseURL + "/pay/failed"
		}
	}
	s := &Links{store: store, orders: orders, clients: orders.Clients(), jobs: jobs, log: log.With("component", "links"), cfg: cfg}
	if err := s.register(jobs); err != nil {
		return nil, err
	}
	return s, nil
}

// Errors of the service (each worded by its message id).
var (
	ErrLinkNotAllowed       = errorID(EFORBIDDEN, "link.not_allowed", "You may not create payment links on this mid.")
	ErrLinkCancelNotAllowed = errorID(EFORBIDDEN, "link.cancel_not_allowed", "You may not cancel payment links on this mid.")
	ErrLinkNotOpen          = errorID(ECONFLICT, "link.not_open", "This payment link is no longer open.")
	ErrLinkNoPerson         = errorID(EFORBIDDEN, "link.not_allowed", "Payment links are made by a signed-in person.")
)

// LinkForm is what the create form needs: its number, the mid's channels
// and the defaults.
type LinkForm struct {
	OrderNo    string // carried by the form (LinkRequest.OrderNo)
	API        string // APIv3 or APIVIP
	Currency   string
	Channels   []LinkChannel
	ExpiresAt  time.Time // the default expiry
	MaxExpiry  time.Time // the latest expiry accepted
	SuccessURL string    // default pages ("" when there is no default)
	FailURL    string
	// PlainEnglish: the product must be plain English without +&/$% (vip).
	PlainEnglish bool
}

func (s *Links) now() time.Time { return s.store.now() }

// Form returns by's form for a new link on a: the person's open number on
// the mid (the same until a link is made with it), the mid's channels.
func (s *Links) Form(ctx context.Context, by Actor, a MidAccess) (*LinkForm, error) {
	if !RoleCan(a.Role, ActCreateLink) {
		return nil, ErrLinkNotAllowed
	}
	if by.UserID == 0 {
		return nil, ErrLinkNoPerson
	}
	client, _, err := s.clients.For(ctx, a.Mid.AccountID)
	if err != nil {
		return nil, GatewayError(err)
	}
	chans, err := s.Channels(ctx, a)
	if err != nil {
		return nil, err
	}
	db := s.store.db.WithContext(ctx)
	if err := db.Exec(`INSERT INTO link_drafts (user_id, mid, mch_order_no, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, mid) DO NOTHING`, by.UserID, a.Mid.Mid, newLinkNo(), s.now()).Error; err != nil {
		return nil, fmt.Errorf("links: form: %w", err)
	}
	var no string
	if err := db.Raw("SELECT mch_order_no FROM link_drafts WHERE user_id = ? AND mid = ?", by.UserID, a.Mid.Mid).Scan(&no).Error; err != nil {
		return nil, fmt.Errorf("links: form: %w", err)
	}
	now := s.now()
	api := apiOf(client)
	return &LinkForm{OrderNo: no, API: api, Currency: midCurrency(a), Channels: chans, ExpiresAt: now.Add(DefaultLinkLifetime),
		MaxExpiry: now.Add(s.cfg.MaxLifetime), SuccessURL: s.cfg.SuccessURL, FailURL: s.cfg.FailURL, PlainEnglish: api == APIVIP}, nil
}

func apiOf(c *gateway.Client) string {
	if c.API() == gateway.APIVIP {
		return APIVIP
	}
	return APIv3
}

func midCurrency(a MidAccess) string {
	if a.Mid.Currency == "" {
		return "THB"
	}
	return a.Mid.Currency
}

// Create makes by's payment link on mid a. A number already used on the
// mid gives that link back (a double click, a second tab, a replayed POST:
// one link). Bad input returns *InvalidInput and calls nothing. Ksher's
// refusal gives the link in state failed, with Ksher's code and words in
// ErrorCode and Error; an unclear answer is followed by one query by the
// number, and if that is unclear too the link stays creating for the
// resolve job. Errors: *InvalidInput, EFORBIDDEN, the gateway's (the
// account's client or channel list cannot be had).
func (s *Links) Create(ctx context.Context, by Actor, a MidAccess, req LinkRequest) (*Link, error) {
	return s.create(ctx, by, a, req, nil)
}

// CloneRequest is the form of a new link with every field of link id but
// its number: the same lifetime from now. orderNo is the new form's
// number (LinkForm.OrderNo).
func (s *Links) CloneRequest(ctx context.Context, a MidAccess, id int64, orderNo string) (*LinkRequest, *Link, error) {
	src, err := s.store.FindLink(ctx, []string{a.Mid.Mid}, id)
	if err != nil {
		return nil, nil, err
	}
	life := src.ExpiresAt.Sub(src.CreatedAt).Round(time.Minute)
	return &LinkRequest{OrderNo: orderNo, Amount: money.Format(src.Amount, src.Currency), Product: src.Product,
		Channels: src.ChannelList(), ExpiresAt: s.now().Add(life), SuccessURL: src.SuccessURL, FailURL: src.FailURL,
		Note: src.Note, CustomerRef: src.CustomerRef}, src, nil
}

// Clone makes a new link with every field of link id but its number
// (orderNo, the person's form number), audited as cloned.
func (s *Links) Clone(ctx context.Context, by Actor, a MidAccess, id int64, orderNo string) (*Link, error) {
	if !RoleCan(a.Role, ActCreateLink) {
		return nil, ErrLinkNotAllowed
	}
	req, src, err := s.CloneRequest(ctx, a, id, orderNo)
	if err != nil {
		return nil, err
	}
	return s.create(ctx, by, a, *req, src)
}

func (s *Links) create(ctx context.Context, by Actor, a MidAccess, req LinkRequest, from *Link) (*Link, error) {
	if !RoleCan(a.Role, ActCreateLink) {
		return nil, ErrLinkNotAllowed
	}
	if validLinkNo(req.OrderNo) {
		if done, err := s.linkByNo(ctx, a.Mid.Mid, req.OrderNo); err != nil || done != nil {
			return done, err
		}
	}
	client, acct, err := s.clients.For(ctx, a.Mid.AccountID)
	if err != nil {
		return nil, GatewayError(err)
	}
	chans, err := s.Channels(ctx, a)
	if err != nil {
		return nil, err
	}
	now := s.now()
	in, problems := req.validate(linkRules{API: apiOf(client), Currency: midCurrency(a), Channels: chans, Now: now,
		Max: s.cfg.MaxLifetime, SuccessURL: s.cfg.SuccessURL, FailURL: s.cfg.FailURL})
	if err := problems.Err(); err != nil {
		return nil, err
	}
	l := &Link{AccountID: acct.ID, Mid: a.Mid.Mid, MchOrderNo: req.OrderNo, APIKind: apiOf(client), State: LinkCreating,
		Amount: in.Amount, Currency: midCurrency(a), Product: in.Product, Channels: strings.Join(in.Channels, ","),
		Note: in.Note, CustomerRef: in.CustomerRef, SuccessURL: in.SuccessURL, FailURL: in.FailURL, ExpiresAt: in.ExpiresAt,
		CreatedBy: &by.UserID, CreatedByEmail: Storable([]byte(by.Email), MaxEmail), CreatedAt: now, UpdatedAt: now}
	action := "created"
	if from != nil {
		l.ClonedFrom, action = &from.ID, "cloned"
	}
	var done *Link
	err = s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var draft struct{ UserID int64 }
		res := tx.Raw(`SELECT user_id FROM link_drafts WHERE user_id = ? AND mid = ? AND mch_order_no = ? FOR UPDATE`,
			by.UserID, l.Mid, l.MchOrderNo).Scan(&draft)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			// Spent by a concurrent submission of the same form, or never ours.
			if d, err := linkByNoTx(tx, l.Mid, l.MchOrderNo); err != nil || d != nil {
				done = d
				return err
			}
			return invalid("order_no", "link.form_stale")
		}
		if err := tx.Create(l).Error; err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM link_drafts WHERE user_id = ? AND mid = ?", by.UserID, l.Mid).Error; err != nil {
			return err
		}
		details := linkAudit(l, action)
		if from != nil {
			details["cloned_from"] = from.MchOrderNo
		}
		if err := s.store.writeAudit(tx, by, AuditPaymentLink, l.MchOrderNo, l.Mid, details); err != nil {
			return err
		}
		// Whatever happens to the call below (the process stops, the answer
		// is lost), this job finds out later what Ksher made of the number.
		_, err := s.jobs.InsertTx(ctx, tx, LinkResolveArgs{LinkID: l.ID, OrderNo: l.MchOrderNo},
			&river.InsertOpts{ScheduledAt: now.Add(s.cfg.ResolveAfter), UniqueOpts: UniqueWhileUnfinished(), MaxAttempts: 10})
		return err
	})
	if done != nil {
		return done, nil
	}
	if err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, invalid("order_no", "link.form_stale") // the number is another mid's or a forged form's
		}
		if AsInvalidInput(err) != nil {
			return nil, err
		}
		return nil, fmt.Errorf("links: create: %w", err)
	}
	return s.send(ctx, client, l, in)
}

// linkAudit is the audit details of a link: typed values, no display text.
func linkAudit(l *Link, action string) map[string]any {
	return map[string]any{"action": action, "link_id": l.ID, "number": l.MchOrderNo, "amount": l.Amount, "currency": l.Currency,
		"channels": l.Channels, "expires_at": l.ExpiresAt.UTC().Format(time.RFC3339)}
}

func (s *Links) linkByNo(ctx context.Context, mid, no string) (*Link, error) {
	return linkByNoTx(s.store.db.WithContext(ctx), mid, no)
}

func linkByNoTx(tx *gorm.DB, mid, no string) (*Link, error) {
	var l Link
	err := tx.Where("mid = ? AND mch_order_no = ?", mid, no).Take(&l).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// createParams is the create request of l: the same whenever it is built.
func (s *Links) createParams(l *Link, in linkInput) *gateway.PaymentLinkCreateParams {
	p := &gateway.PaymentLinkCreateParams{Mid: l.Mid, MerchantOrderID: l.MchOrderNo, Amount: l.Amount, Currency: l.Currency,
		Channels: l.ChannelList(), RedirectURL: l.SuccessURL, FailRedirectURL: l.FailURL, ProductName: &l.Product}
	if l.APIKind == APIv3 {
		minutes := in.Minutes
		p.ExpireMinutes = &minutes
		if s.cfg.BaseURL != "" {
			hook := s.cfg.BaseURL + "/hooks/ksher/v3/" + strconv.FormatInt(l.AccountID, 10)
			p.NotifyURL = &hook
		}
		if l.CustomerRef != "" {
			ref := l.CustomerRef
			p.Attach = &ref // echoed back in the notification
		}
		return p
	}
	if l.Note != "" {
		note := l.Note
		p.Note = &note
	}
	return p
}

// send makes the link at Ksher, once, and records what its answer means.
func (s *Links) send(ctx context.Context, client *gateway.Client, l *Link, in linkInput) (*Link, error) {
	cctx, cancel := context.WithTimeout(ctx, interactiveCallTimeout)
	gl, err := client.PaymentLinks.Create(cctx, s.createParams(l, in))
	cancel()
	if err == nil {
		return s.record(ctx, l.ID, gl, nil)
	}
	if createRefused(err) {
		return s.record(ctx, l.ID, nil, err)
	}
	s.log.Warn("Payment link create answer unclear; asking Ksher by its number.", "mid", l.Mid, "number", l.MchOrderNo,
		"error", GatewayErrorCode(err))
	got, err := s.resolve(ctx, client, l.ID)
	var unclear *unclearError
	if errors.As(err, &unclear) {
		return got, nil // creating: the resolve job asks again
	}
	return got, err
}

// createRefused reports whether a create's error is Ksher (or the client)
// clearly refusing it, so that no link exists: a request refused before
// sending, a 4xx or a v3 business refusal. A timeout, a 5xx, an unreadable
// or unverified answer, a rate limit, Ksher's SYSTEMERROR or a duplicate
// number are unclear: the link may exist.
func createRefused(err error) bool {
	var ge *gateway.Error
	if !errors.As(err, &ge) {
		return false
	}
	switch ge.Kind {
	case gateway.KindInvalidRequest, gateway.KindUnsupported:
		return true
	case gateway.KindAPI:
		t := strings.ToLower(ge.Code + " " + ge.Message)
		// A v3 envelope code != 0 (KSHER_CODE_n) means "send it again": unclear.
		return ge.HTTPStatus < 500 && !strings.HasPrefix(ge.Code, "KSHER_CODE_") && ge.Code != gateway.CodeSystemError &&
			!strings.Contains(t, "duplicate") && !strings.Contains(t, "exist")
	}
	return false
}

// resolve asks Ksher about a link still creating, by its number, and
// records the answer: found -> available; not known -> failed (only
// once the resolve job asks, ResolveAfter after the create: a just-lost
// create may not be visible yet); unclear -> still creating.
func (s *Links) resolve(ctx context.Context, client *gateway.Client, id int64) (*Link, error) {
	var l Link
	if err := s.store.db.WithContext(ctx).Where("id = ?", id).Take(&l).Error; err != nil {
		return nil, err
	}
	if l.State != LinkCreating {
		return &l, nil
	}
	cctx, cancel := context.WithTimeout(ctx, interactiveCallTimeout)
	gl, err := client.PaymentLinks.Get(cctx, &gateway.PaymentLinkGetParams{Mid: l.Mid, MerchantOrderID: l.MchOrderNo})
	cancel()
	switch {
	case err == nil:
		return s.record(ctx, l.ID, gl, nil)
	case orderNotKnown(err) && s.now().Sub(l.CreatedAt) >= s.cfg.ResolveAfter:
		return s.record(ctx, l.ID, nil, &gateway.Error{Kind: gateway.KindAPI, Code: "NOT_AT_KSHER",
			Message: "Ksher does not know this link: it was never made"})
	}
	return &l, &unclearError{err}
}

// unclearError is a Ksher answer that decided nothing (the link stays
// creating); Create hides it, the resolve job retries on it.
type unclearError struct{ err error }

func (e *unclearError) Error() string { return "links: unclear answer: " + e.err.Error() }
func (e *unclearError) Unwrap() error { return e.err }

// record writes Ksher's word on a link still creating: its page (gl) or
// its refusal (refused). A link decided meanwhile is left as it is.
func (s *Links) record(ctx context.Context, id int64, gl *gateway.PaymentLink, refused error) (*Link, error) {
	var l Link
	err := s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockLinkTx(tx, id, &l); err != nil {
			return err
		}
		if l.State != LinkCreating {
			return nil
		}
		now := s.now()
		if refused != nil {
			code, words := GatewayErrorCode(refused), refused.Error()
			var ge *gateway.Error
			if errors.As(refused, &ge) {
				words = orDefaultStr(ge.Message, words)
			}
			l.State, l.ErrorCode, l.Error = LinkFailed, Storable([]byte(code), 100), Storable([]byte(words), 500)
			return tx.Model(&l).Updates(map[string]any{"state": l.State, "error_code": l.ErrorCode, "error": l.Error, "updated_at": now}).Error
		}
		l.State, l.URL = LinkAvailable, Storable([]byte(gl.URL), 2000)
		if err := tx.Model(&l).Updates(map[string]any{"state": l.State, "url": l.URL, "updated_at": now}).Error; err != nil {
			return err
		}
		u := OrderUpdateFromLink(l.AccountID, gl)
		u.Mid, u.MchOrderNo, u.Product, u.CreatedAt = l.Mid, l.MchOrderNo, l.Product, &l.CreatedAt
		if u.Amount == 0 {
			u.Amount, u.Currency = l.Amount, l.Currency
		}
		u.Source, u.Event, u.Summary = "link", "link", "payment link created"
		o, _, err := s.store.upsertOrderTx(tx, u)
		if err != nil {
			return err
		}
		l.OrderID = &o.ID
		// The order's state (a link paid before our answer came back) is
		// the link's too.
		return tx.Where("id = ?", l.ID).Take(&l).Error
	})
	if err != nil {
		return nil, fmt.Errorf("links: record %d: %w", id, err)
	}
	return &l, nil
}

// lockLinkTx locks link id's order row (if there is one) and then the link
// into l: the order the notification path takes (upsertOrderTx, then
// followOrderTx), so the two never wait for each other in a circle.
func lockLinkTx(tx *gorm.DB, id int64, l *Link) error {
	if err := tx.Exec(`SELECT 1 FROM orders o JOIN payment_links l ON o.mid = l.mid AND o.mch_order_no = l.mch_order_no
		WHERE l.id = ? FOR UPDATE OF o`, id).Error; err != nil {
		return err
	}
	return tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", id).Take(l).Error
}

func orDefaultStr(s, d string) string {
	if s != "" {
		return s
	}
	return d
}

// Cancel closes link id of a: at Ksher (v3 cancel_order, vip DELETE) and
// here. When Ksher refuses or does not answer, the link is cancelled here
// anyway and flagged KsherMayAccept (a payer may still pay it; a payment
// that comes is recorded and raises the drift flag). A link already
// cancelled is given back; one paid, expired or failed is ErrLinkNotOpen.
func (s *Links) Cancel(ctx context.Context, by Actor, a MidAccess, id int64) (*Link, error) {
	if !RoleCan(a.Role, ActCancelLink) {
		return nil, ErrLinkCancelNotAllowed
	}
	l, err := s.store.FindLink(ctx, []string{a.Mid.Mid}, id)
	if err != nil {
		return nil, err
	}
	if l.State == LinkCancelled {
		return l, nil
	}
	if l.State != LinkAvailable {
		return nil, ErrLinkNotOpen
	}
	client, _, err := s.clients.For(ctx, l.AccountID)
	if err != nil {
		return nil, GatewayError(err)
	}
	gl, cerr := s.closeAtKsher(ctx, client, l)
	if cerr != nil && createRefused(cerr) && l.OrderID != nil {
		// Ksher refused: perhaps it was paid moments ago, before its
		// notification. The order cache asks (within its 10-second rule);
		// a payment it finds makes the link paid, and the cancel below
		// leaves it so.
		if o, err := s.store.FindOrder(ctx, []string{l.Mid}, *l.OrderID); err == nil {
			s.orders.Refresh(ctx, o, true)
		}
	}
	var out *Link
	err = s.store.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cur Link
		if err := lockLinkTx(tx, l.ID, &cur); err != nil {
			return err
		}
		out = &cur
		if cur.State != LinkAvailable {
			return nil // paid or closed meanwhile (a notification): that stands
		}
		now := s.now()
		set := map[string]any{"state": LinkCancelled, "closed_at": now, "ksher_may_accept": cerr != nil, "updated_at": now}
		ksher := "closed"
		if cerr != nil {
			ksher = "refused"
			if !createRefused(cerr) {
				ksher = "unclear"
			}
			set["error_code"], set["error"] = Storable([]byte(GatewayErrorCode(cerr)), 100), Storable([]byte(cerr.Error()), 500)
		}
		if err := tx.Model(&cur).Updates(set).Error; err != nil {
			return err
		}
		details := linkAudit(&cur, "cancelled")
		details["ksher"] = ksher
		if cerr != nil {
			details["code"] = GatewayErrorCode(cerr)
		}
		if err := s.store.writeAudit(tx, by, AuditPaymentLink, cur.MchOrderNo, cur.Mid, details); err != nil {
			return err
		}
		if gl != nil {
			if err := s.closedAtKsherTx(tx, &cur, gl, "payment link cancelled"); err != nil {
				return err
			}
		}
		return tx.Where("id = ?", cur.ID).Take(out).Error
	})
	if err != nil {
		return nil, fmt.Errorf("links: cancel %d: %w", id, err)
	}
	return out, nil
}

// closeAtKsher asks Ksher to close l's page, once. Its answer is the
// closed link, or the error of a refusal or of no answer.
func (s *Links) closeAtKsher(ctx context.Context, client *gateway.Client, l *Link) (*gateway.PaymentLink, error) {
	cctx, cancel := context.WithTimeout(ctx, interactiveCallTimeout)
	defer cancel()
	gl, err := client.PaymentLinks.Cancel(cctx, &gateway.PaymentLinkCancelParams{Mid: l.Mid, MerchantOrderID: l.MchOrderNo})
	if err == nil && gl.Status != gateway.StatusClosed {
		return nil, &gateway.Error{Kind: gateway.KindAPI, Code: string(gl.Status), Message: "Ksher did not close the link (" + gl.RawStatus + ")"}
	}
	return gl, err
}

// closedAtKsherTx records in l's order that Ksher closed it.
func (s *Links) closedAtKsherTx(tx *gorm.DB, l *Link, gl *gateway.PaymentLink, summary string) error {
	u := OrderUpdateFromLink(l.AccountID, gl)
	u.Mid, u.MchOrderNo, u.Product = l.Mid, l.MchOrderNo, l.Product
	if u.Amount == 0 {
		u.Amount, u.Currency = l.Amount, l.Currency
	}
	u.Source, u.Event, u.Summary = "link", "link", summary
	_, _, err := s.store.upsertOrderTx(tx, u)
	return err
}

// Channels returns the channels mid a may offer on a link: from our
// database while younger than ChannelsFor, else from Ksher (v3
// merchant_info, vip finance channels); a stale list is used when Ksher
// cannot be asked.
func (s *Links) Channels(ctx context.Context, a MidAccess) ([]LinkChannel, error) {
	var row struct {
		Channels  []byte
		FetchedAt time.Time
	}
	res := s.store.db.WithContext(ctx).Raw("SELECT channels, fetched_at FROM mid_channels WHERE mid = ?", a.Mid.Mid).Scan(&row)
	if res.Error != nil {
		return nil, res.Error
	}
	var cached []LinkChannel
	if res.RowsAffected > 0 {
		if err := json.Unmarshal(row.Channels, &cached); err != nil {
			return nil, err
		}
		if s.now().Sub(row.FetchedAt) < s.cfg.ChannelsFor {
			return cached, nil
		}
	}
	client, _, err := s.clients.For(ctx, a.Mid.AccountID)
	if err != nil {
		return nil, GatewayError(err)
	}
	cctx, cancel := context.WithTimeout(ctx, interactiveCallTimeout)
	list, err := client.Channels.List(cctx, &gateway.ChannelListParams{Mid: a.Mid.Mid})
	cancel()
	if err != nil {
		if res.RowsAffected > 0 {
			s.log.Warn("Channel list not refreshed; using the stored one.", "mid", a.Mid.Mid, "error", GatewayErrorCode(err))
			return cached, nil
		}
		return nil, GatewayError(err)
	}
	chans := make([]LinkChannel, 0, len(list.Channels))
	for _, c := range list.Channels {
		if name := strings.ToLower(strings.TrimSpace(c.Name)); name != "" {
			chans = append(chans, LinkChannel{Name: name, SingleOrderLimit: c.SingleOrderLimit, DaySumLimit: c.DaySumLimit})
		}
	}
	b, err := json.Marshal(chans)
	if err != nil {
		return nil, err
	}
	if err := s.store.db.WithContext(ctx).Exec(`INSERT INTO mid_channels (mid, channels, fetched_at) VALUES (?, ?, ?)
		ON CONFLICT (mid) DO UPDATE SET channels = EXCLUDED.channels, fetched_at = EXCLUDED.fetched_at`,
		a.Mid.Mid, string(b), s.now()).Error; err != nil {
		return nil, fmt.Errorf("links: store channels of %s: %w", a.Mid.Mid, err)
	}
	return chans, nil
}
