package models

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Payment link states. A link is creating between our row and Ksher's
// answer; the five others are what the list shows.
const (
	LinkCreating  = "creating"
	LinkAvailable = "available"
	LinkPaid      = "paid"
	LinkExpired   = "expired"
	LinkCancelled = "cancelled"
	LinkFailed    = "failed"
)

// LinkStates lists every state, for filters.
var LinkStates = []string{LinkCreating, LinkAvailable, LinkPaid, LinkExpired, LinkCancelled, LinkFailed}

// DefaultLinkLifetime is a link's expiry when the form leaves it empty.
const DefaultLinkLifetime = 24 * time.Hour

// MaxLinkLifetime bounds a link's expiry. Ksher documents no maximum for
// gateway_pay's expire_time (nor any expiry on vip, where we expire links
// ourselves); 30 days keeps a forgotten link from staying payable for
// months at an amount and product that no longer hold, and bounds how
// long the expiry job must watch a link. LinksConfig.MaxLifetime may lower
// it, never raise it.
const MaxLinkLifetime = 30 * 24 * time.Hour

// Bounds of what a person types.
const (
	MaxLinkProduct     = 100
	MaxLinkNote        = 200
	MaxLinkCustomerRef = 64
	MaxLinkURL         = 500
)

// Link is one payment link: what we sent Ksher and what became of it.
type Link struct {
	ID             int64
	AccountID      int64
	Mid            string
	MchOrderNo     string // v3 mch_order_no, vip merchant_order_id
	OrderID        *int64 // its row in orders, once Ksher knows it
	APIKind        string // APIv3 or APIVIP
	State          string
	Amount         int64
	Currency       string
	Product        string
	Channels       string // comma list as sent
	Note           string
	CustomerRef    string
	SuccessURL     string
	FailURL        string
	URL            string // the page to send the payer to; "" when Ksher never said (a v3 create whose answer was lost)
	ExpiresAt      time.Time
	CreatedBy      *int64
	CreatedByEmail string
	ClonedFrom     *int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ClosedAt       *time.Time
	PaidAt         *time.Time
	// KsherMayAccept: closed here, but Ksher did not confirm the close, so
	// a payer may still pay it (the page says so).
	KsherMayAccept bool
	// PaidAfterClose: paid after we cancelled, expired or failed it (a
	// drift alert: the money is real).
	PaidAfterClose bool
	ErrorCode      string // why it failed, or why Ksher refused to close it
	Error          string
}

// TableName maps Link to payment_links.
func (Link) TableName() string { return "payment_links" }

// ChannelList returns the channels offered on the link's page.
func (l *Link) ChannelList() []string {
	if l.Channels == "" {
		return nil
	}
	return strings.Split(l.Channels, ",")
}

// Open reports whether the link can still be paid as far as we know.
func (l *Link) Open() bool { return l.State == LinkAvailable || l.State == LinkCreating }

// LinkChannel is one channel a mid may offer on a link, with its limits in
// minor units (0 or less: none known).
type LinkChannel struct {
	Name             string `json:"name"`
	SingleOrderLimit int64  `json:"single_order_limit,omitempty"`
	DaySumLimit      int64  `json:"day_sum_limit,omitempty"`
}

// LinkRequest is a person's payment link: the form's fields.
type LinkRequest struct {
	OrderNo     string    // the form's number (LinkForm.OrderNo)
	Amount      string    // typed in the currency's major unit ("1,234.50")
	Product     string    // shown to the payer
	Channels    []string  // a subset of LinkForm.Channels
	ExpiresAt   time.Time // zero: DefaultLinkLifetime from now
	SuccessURL  string    // "": LinkForm.SuccessURL
	FailURL     string    // "": LinkForm.FailURL
	Note        string
	CustomerRef string
}

// linkInput is a request that passed Validate.
type linkInput struct {
	Amount      int64
	Product     string
	Channels    []string
	ExpiresAt   time.Time
	Minutes     int // the lifetime sent to Ksher (v3 expire_time)
	SuccessURL  string
	FailURL     string
	Note        string
	CustomerRef string
}

// linkRules is what Validate checks a request against.
type linkRules struct {
	API        string
	Currency   string
	Channels   []LinkChannel
	Now        time.Time
	Max        time.Duration
	SuccessURL string // defaults
	FailURL    string
}

// Validate checks what needs no call to Ksher: an exact amount within the
// chosen channels' single-order limits, a product (plain English on vip),
// channels of the mid, an expiry within the maximum, http(s) pages.
func (r *LinkRequest) validate(k linkRules) (linkInput, Problems) {
	p := Problems{}
	in := linkInput{Note: strings.TrimSpace(r.Note), CustomerRef: strings.TrimSpace(r.CustomerRef),
		Product: strings.TrimSpace(r.Product)}
	v, err := ParseMinor(r.Amount, k.Currency)
	switch {
	case err != nil:
		p.Add("amount", "link.amount_invalid", nil)
	case v <= 0:
		p.Add("amount", "link.amount_zero", nil)
	}
	in.Amount = v
	switch {
	case in.Product == "":
		p.Add("product", "link.product_required", nil)
	case utf8.RuneCountInString(in.Product) > MaxLinkProduct:
		p.Add("product", "link.too_long", map[string]any{"Max": MaxLinkProduct})
	case k.API == APIVIP && !vipPlainEnglish(in.Product):
		p.Add("product", "link.product_plain_english", nil)
	}
	seen := map[string]bool{}
	for _, c := range r.Channels {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		i := slices.IndexFunc(k.Channels, func(lc LinkChannel) bool { return lc.Name == c })
		if i < 0 {
			p.Add("channels", "link.channel_unknown", map[string]any{"Channel": Storable([]byte(c), 40)})
			continue
		}
		in.Channels = append(in.Channels, c)
		if lim := k.Channels[i].SingleOrderLimit; lim > 0 && in.Amount > lim {
			p.Add("amount", "link.amount_above_limit", map[string]any{"Limit": lim, "Currency": k.Currency, "Channel": c})
		}
	}
	if len(in.Channels) == 0 {
		p.Add("channels", "link.channel_required", nil)
	}
	// Whole minutes: what v3 expire_time can say, so the expiry we show is
	// the one Ksher enforces.
	in.ExpiresAt = r.ExpiresAt
	if in.ExpiresAt.IsZero() {
		in.ExpiresAt = k.Now.Add(DefaultLinkLifetime)
	}
	life := in.ExpiresAt.Sub(k.Now)
	in.Minutes = int(life / time.Minute)
	switch {
	case in.Minutes < 1:
		p.Add("expires_at", "link.expiry_past", nil)
	case life > k.Max+time.Minute: // a minute of slack for the time the form was open
		p.Add("expires_at", "link.expiry_too_far", map[string]any{"MaxDays": int(k.Max / (24 * time.Hour))})
	}
	in.Minutes = min(in.Minutes, int(k.Max/time.Minute))
	in.ExpiresAt = k.Now.Add(time.Duration(in.Minutes) * time.Minute)
	in.SuccessURL = pageURL(p, "success_url", r.SuccessURL, k.SuccessURL)
	in.FailURL = pageURL(p, "fail_url", r.FailURL, k.FailURL)
	if utf8.RuneCountInString(in.Note) > MaxLinkNote {
		p.Add("note", "link.too_long", map[string]any{"Max": MaxLinkNote})
	}
	if utf8.RuneCountInString(in.CustomerRef) > MaxLinkCustomerRef {
		p.Add("customer_ref", "link.too_long", map[string]any{"Max": MaxLinkCustomerRef})
	}
	if !validLinkNo(r.OrderNo) {
		p.Add("order_no", "link.form_stale", nil)
	}
	return in, p
}

// pageURL is a success or fail page: the one typed, else the default; an
// absolute http(s) URL either way (both APIs refuse anything else).
func pageURL(p Problems, field, typed, def string) string {
	u := strings.TrimSpace(typed)
	if u == "" {
		u = def
	}
	if u == "" {
		p.Add(field, "link.url_required", nil)
		return ""
	}
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || len(u) > MaxLinkURL ||
		strings.ContainsAny(u, " \t\r\n") {
		p.Add(field, "link.url_invalid", nil)
		return ""
	}
	return u
}

// vipPlainEnglish reports whether s is what the vip gateway asks of
// product_name (API.md B.4.1: plain English, avoid +&/$%): printable ASCII
// without those five.
func vipPlainEnglish(s string) bool {
	for _, c := range s {
		if c < 0x20 || c > 0x7e || strings.ContainsRune("+&/$%", c) {
			return false
		}
	}
	return true
}

// Link numbers: "PL" and 18 characters of an alphabet without look-alikes
// (20 in all: under both APIs' 32, and safe in a vip URL path).
const linkNoAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

func newLinkNo() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	for i := range b {
		b[i] = linkNoAlphabet[int(b[i])%len(linkNoAlphabet)]
	}
	return "PL" + string(b)
}

func validLinkNo(no string) bool {
	if len(no) != 20 || !strings.HasPrefix(no, "PL") {
		return false
	}
	for _, c := range no[2:] {
		if !strings.ContainsRune(linkNoAlphabet, c) {
			return false
		}
	}
	return true
}

// FindLink returns one link of one of mids by id, or ENOTFOUND.
func (s *Store) FindLink(ctx context.Context, mids []string, id int64) (*Link, error) {
	var l Link
	if len(mids) == 0 {
		return nil, Errorf(ENOTFOUND, "Payment link not found.")
	}
	if err := s.db.WithContext(ctx).Where("id = ? AND mid IN ?", id, mids).Take(&l).Error; err != nil {
		return nil, notFoundOr(err, "Payment link")
	}
	return &l, nil
}

// LinkFilter selects links for the list, newest first. Times are UTC.
type LinkFilter struct {
	Mids           []string
	States         []string
	From           *time.Time // created at or after
	To             *time.Time // created before
	PaidAfterClose bool       // only the drift alerts
	Before         string     // keyset cursor: the page after this row (LinkPage.Next)
	Limit          int        // one of PageSizes; default the first
}

// LinkPage is one page of links and the cursor of the next ("" on the last).
type LinkPage struct {
	Rows []Link
	Next string
}

// ListLinks returns one page of links, newest first, keyset-paged over
// (created_at, id) (the payment_links_mid_created_idx index). EINVALID for
// a cursor that does not parse.
func (s *Store) ListLinks(ctx context.Context, f LinkFilter) (*LinkPage, error) {
	page := &LinkPage{}
	if len(f.Mids) == 0 {
		return page, nil
	}
	if !slices.Contains(PageSizes, f.Limit) {
		f.Limit = PageSizes[0]
	}
	q := s.db.WithContext(ctx).Model(&Link{}).Where("mid IN ?", f.Mids)
	if len(f.States) > 0 {
		q = q.Where("state IN ?", f.States)
	}
	if f.From != nil {
		q = q.Where("created_at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where("created_at < ?", *f.To)
	}
	if f.PaidAfterClose {
		q = q.Where("paid_after_close")
	}
	if f.Before != "" {
		key, id, err := decodeCursor(f.Before)
		if err != nil {
			return nil, errorID(EINVALID, "error.bad_page_link", "The page link is not valid; start from the first page.")
		}
		q = q.Where("(created_at, id) < (?, ?)", time.Unix(0, key).UTC(), id)
	}
	var rows []Link
	if err := q.Order("created_at DESC").Order("id DESC").Limit(f.Limit + 1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		last := rows[len(rows)-1]
		page.Next = strconv.FormatInt(last.CreatedAt.UnixNano(), 36) + "." + strconv.FormatInt(last.ID, 36)
	}
	page.Rows = rows
	return page, nil
}

// linkOrderKind reports whether an order of this kind may be a payment
// link's (v3 gateway_pay, vip redirect).
func linkOrderKind(kind string) bool { return kind == OrderKindLink || kind == "redirect" }

// followOrderTx makes the payment link of order o (if it is one of ours)
// follow what Ksher says of o, in the transaction that records it: this is
// how notifications, webhooks, refreshes and the sync drive a link's live
// state, never a query per poll. A payment is recorded whatever the link's
// state (the money is real); one on a link we closed raises the drift flag.
func (s *Store) followOrderTx(tx *gorm.DB, o *Order) error {
	if !linkOrderKind(o.Kind) {
		return nil
	}
	var l Link
	err := tx.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Where("mid = ? AND mch_order_no = ?", o.Mid, o.MchOrderNo).Take(&l).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("payment link of order %d: %w", o.ID, err)
	}
	now := s.now()
	set := map[string]any{}
	if l.OrderID == nil {
		set["order_id"] = o.ID
	}
	switch o.Status {
	case StatusPaid, StatusPartiallyRefunded, StatusRefunded:
		if l.State != LinkPaid {
			set["state"], set["ksher_may_accept"] = LinkPaid, false
			set["paid_at"] = o.PaidAt
			if o.PaidAt == nil {
				set["paid_at"] = now
			}
			if l.State == LinkCancelled || l.State == LinkExpired || l.State == LinkFailed {
				set["paid_after_close"] = true
			}
		}
	case StatusClosed, StatusFailed, StatusReversed:
		if l.Open() {
			state := LinkCancelled // closed at Ksher before its time (Ksher's back office)
			switch {
			case o.Status == StatusFailed:
				state = LinkFailed
			case !now.Before(l.ExpiresAt.Add(-time.Minute)):
				state = LinkExpired
			}
			set["state"], set["closed_at"], set["ksher_may_accept"] = state, now, false
		} else if l.State != LinkPaid && l.KsherMayAccept {
			set["ksher_may_accept"] = false // Ksher closed it after all
		}
	}
	if len(set) == 0 {
		return nil
	}
	set["updated_at"] = now
	return tx.Model(&l).Updates(set).Error
}
