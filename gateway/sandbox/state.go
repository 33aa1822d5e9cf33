package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
)

// Time zones: the sandbox writes each Ksher time field in the zone the
// client reads it in, as decided once in gateway/times.go ("Times"):
// Thailand time (gateway.ICT) for time_end, refund_time, report times and
// settlement days, UTC for vip order_date. Envelopes are stamped in China
// time (+08:00), as Ksher's are (API.md A.1). Fixed zones avoid a
// dependency on the system tz database.
var (
	bangkok = gateway.ICT
	china   = time.FixedZone("CST", 8*3600)
)

// The two API families.
const (
	apiV3  = "v3"
	apiVIP = "vip"
)

// Internal order states. They map to v3 result values (A.5) and vip
// status/error_code pairs (B.6) in v3.go and vip.go.
const (
	stPending   = "pending"   // created, payable
	stPaying    = "paying"    // quick_pay: waiting for the payer's PIN (NOTSURE/USERPAYING)
	stAbandoned = "abandoned" // payer left the checkout page; still payable (NOTPAY)
	stFailed    = "failed"    // the channel refused the payment (PAYERROR / vip FAIL)
	stPaid      = "paid"
	stClosed    = "closed"   // closed or cancelled by the merchant
	stExpired   = "expired"  // not paid before ExpireAt
	stReversed  = "reversed" // order_reverse
)

// Order is one order held by the sandbox, for either API.
type Order struct {
	UUID            string    `json:"uuid"` // 32 hex; order_uuid of the checkout page
	API             string    `json:"api"`  // "v3" or "vip"
	Kind            string    `json:"kind"` // v3 operation (gateway_pay, native_pay, ...) or vip kind (redirect, ...)
	Merchant        string    `json:"merchant"`
	MchOrderNo      string    `json:"mch_order_no"`
	PayMchOrderNo   string    `json:"pay_mch_order_no,omitempty"` // gateway_pay: the KsherPay order behind it
	KsherOrderNo    string    `json:"ksher_order_no,omitempty"`
	ChannelOrderNo  string    `json:"channel_order_no,omitempty"`
	NumID           int64     `json:"num_id"`
	Mid             string    `json:"mid,omitempty"` // vip: mid as sent with the create call
	Reserved1       string    `json:"reserved1,omitempty"`
	Amount          int64     `json:"amount"`
	Currency        string    `json:"currency"`
	Channel         string    `json:"channel,omitempty"`
	Channels        []string  `json:"channels,omitempty"`
	State           string    `json:"state"`
	Product         string    `json:"product,omitempty"`
	Attach          string    `json:"attach,omitempty"`
	Note            string    `json:"note,omitempty"`
	MchCode         string    `json:"mch_code,omitempty"`
	Lang            string    `json:"lang,omitempty"`
	ShopName        string    `json:"shop_name,omitempty"`
	NotifyURL       string    `json:"notify_url,omitempty"`
	RedirectURL     string    `json:"redirect_url,omitempty"`
	RedirectFailURL string    `json:"redirect_url_fail,omitempty"`
	ReferURL        string    `json:"refer_url,omitempty"`
	BaseURL         string    `json:"base_url,omitempty"` // sandbox URL used at creation (checkout links)
	OperatorID      string    `json:"operator_id,omitempty"`
	DeviceID        string    `json:"device_id,omitempty"`
	Openid          string    `json:"openid,omitempty"`
	ChannelError    string    `json:"channel_error,omitempty"`
	Timestamp       string    `json:"timestamp,omitempty"` // vip: timestamp sent with the create call
	Created         time.Time `json:"created"`
	PaidAt          time.Time `json:"paid_at,omitzero"`
	ClosedAt        time.Time `json:"closed_at,omitzero"`
	ExpireAt        time.Time `json:"expire_at,omitzero"`
	ResolveAt       time.Time `json:"resolve_at,omitzero"` // stPaying: the payer "enters the PIN" at this time
	LastQuery       time.Time `json:"last_query,omitzero"` // v3 10-second rule
	Seeded          bool      `json:"seeded,omitempty"`
	Refunds         []*Refund `json:"refunds,omitempty"`
}

// Refund is one refund of an order.
type Refund struct {
	MchRefundNo     string    `json:"mch_refund_no"` // v3 mch_refund_no or vip refund_order_id
	KsherRefundNo   string    `json:"ksher_refund_no"`
	ChannelRefundNo string    `json:"channel_refund_no"`
	NumID           int64     `json:"num_id"`
	Amount          int64     `json:"amount"`
	Time            time.Time `json:"time"`
	Timestamp       string    `json:"timestamp,omitempty"` // vip echo
	Reverse         bool      `json:"reverse,omitempty"`   // made by order_reverse
}

// refunded is the sum of the order's refunds.
func (o *Order) refunded() int64 {
	var n int64
	for _, r := range o.Refunds {
		n += r.Amount
	}
	return n
}

// isPaid reports whether the money was taken (possibly refunded since).
func (o *Order) isPaid() bool { return o.State == stPaid }

// payable reports whether a payer may still pay the order.
func (o *Order) payable() bool {
	return o.State == stPending || o.State == stAbandoned || o.State == stPaying
}

// state is everything the sandbox persists.
type state struct {
	Version    int             `json:"version"`
	Seq        int64           `json:"seq"`
	Orders     []*Order        `json:"orders"`
	WebhookURL string          `json:"webhook_url,omitempty"`
	NoPartial  map[string]bool `json:"no_partial_refund,omitempty"` // appid -> allow_partial_refund = N
	// RefuseRepeats answers a refund number sent again, even for the same
	// order and amount, as a duplicate (SetRepeatedRefunds).
	RefuseRepeats bool            `json:"refuse_repeated_refunds,omitempty"`
	Notifications []*Notification `json:"notifications,omitempty"`
	Generated     *generatedCreds `json:"generated,omitempty"` // credentials minted by RunCLI
	Seeds         map[string]int  `json:"seeds,omitempty"`     // SeedHistory runs already applied
}

// generatedCreds are the credentials RunCLI creates when started without
// flags; kept in the state file so a restart keeps them.
type generatedCreds struct {
	MerchantKeyPEM string   `json:"merchant_key_pem"`
	KsherKeyPEM    string   `json:"ksher_key_pem"`
	Token          string   `json:"token"`
	AppIDs         []string `json:"appids"`
	Mids           []string `json:"mids"`
}

// nextSeq returns a fresh sequence number (caller holds s.mu).
func (s *Sandbox) nextSeq() int64 {
	s.st.Seq++
	return s.st.Seq
}

// newUUID returns 32 random hex digits (an order_uuid).
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// ksherNo builds a Ksher-style number: prefix ("900" orders, "700"
// refunds) + Bangkok yyyyMMddHHmmss + 6 digits, e.g. 90020200623192741778187.
func ksherNo(prefix string, t time.Time, seq int64) string {
	return prefix + t.In(bangkok).Format("20060102150405") + fmt.Sprintf("%06d", seq%1000000)
}

// shortNo builds the 16-digit numbers seen in pay_mch_order_no and vip
// reserved1 ("2303031613445796"): yyMMddHHmmss + 4 digits.
func shortNo(t time.Time, seq int64) string {
	return t.In(bangkok).Format("060102150405") + fmt.Sprintf("%04d", seq%10000)
}

// channelNo invents a wallet-side order number in the channel's style.
func channelNo(ch string, t time.Time, seq int64) string {
	ts := t.In(bangkok).Format("20060102150405")
	switch ch {
	case "wechat":
		return "42000" + ts[2:] + fmt.Sprintf("%011d", seq)
	case "alipay", "alipayplus":
		return ts + "22001" + fmt.Sprintf("%013d", seq)
	case "promptpay", "bbl_promptpay":
		return "PP" + ts + fmt.Sprintf("%08d", seq)
	default:
		return "SB" + ts + strconv.FormatInt(seq, 10)
	}
}

// load reads the state file; a missing file is an empty state.
func loadState(path string) (*state, error) {
	st := &state{Version: 1}
	if path == "" {
		return st, nil
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox: read state: %w", err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("sandbox: parse state %s: %w", path, err)
	}
	return st, nil
}

// save writes the whole state (caller holds s.mu): a synced temp file in the
// same folder, then rename, so a crash never leaves half a file.
func (s *Sandbox) save() {
	if s.cfg.StateFile == "" {
		return
	}
	if err := writeState(s.cfg.StateFile, s.st); err != nil {
		s.log.Error("Sandbox state not saved.", "error", err)
	}
}

func writeState(path string, st *state) error {
	b, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fmt.Errorf("sandbox: encode state: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sandbox: state dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ".sandbox-state-*")
	if err != nil {
		return fmt.Errorf("sandbox: state temp file: %w", err)
	}
	tmp := f.Name()
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("sandbox: write state: %w", err)
	}
	// Sync before the rename, so that after a power loss the name points at
	// either the old state or the whole new one, never at an empty file.
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("sandbox: write state: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sandbox: write state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sandbox: replace state: %w", err)
	}
	return nil
}

// Lookups (caller holds s.mu). The sandbox holds at most a few thousand
// orders, so linear scans keep the model simple.

// findV3 finds a KsherPay order of appid by one of the three ids. A
// gateway_pay order is found by its pay_mch_order_no or ksher_order_no,
// never by the gateway mch_order_no (API.md A.7: refund the underlying
// order).
func (s *Sandbox) findV3(appid, mchNo, ksherNo, chanNo string) *Order {
	for _, o := range s.st.Orders {
		if o.API != apiV3 || o.Merchant != appid || o.Kind == "payout" {
			continue
		}
		if o.Kind == "gateway_pay" {
			if mchNo != "" && mchNo == o.PayMchOrderNo {
				return o
			}
		} else if mchNo != "" && mchNo == o.MchOrderNo {
			return o
		}
		if ksherNo != "" && ksherNo == o.KsherOrderNo {
			return o
		}
		if chanNo != "" && chanNo == o.ChannelOrderNo {
			return o
		}
	}
	return nil
}

// findGateway finds a gateway_pay order of appid by its mch_order_no.
func (s *Sandbox) findGateway(appid, mchNo string) *Order {
	for _, o := range s.st.Orders {
		if o.API == apiV3 && o.Merchant == appid && o.Kind == "gateway_pay" && o.MchOrderNo == mchNo {
			return o
		}
	}
	return nil
}

// findPayout finds a payout order of appid.
func (s *Sandbox) findPayout(appid, mchNo string) *Order {
	for _, o := range s.st.Orders {
		if o.API == apiV3 && o.Merchant == appid && o.Kind == "payout" && o.MchOrderNo == mchNo {
			return o
		}
	}
	return nil
}

// v3NoTaken reports whether mch_order_no is already used by appid in the
// namespace of kind (gateway_pay, payout and KsherPay orders are separate
// namespaces; pay_mch_order_no values belong to the KsherPay one).
func (s *Sandbox) v3NoTaken(appid, kind, no string) bool {
	ns := func(k string) string {
		if k == "gateway_pay" || k == "payout" {
			return k
		}
		return "ksherpay"
	}
	for _, o := range s.st.Orders {
		if o.API != apiV3 || o.Merchant != appid {
			continue
		}
		if ns(o.Kind) == ns(kind) && o.MchOrderNo == no {
			return true
		}
		if ns(kind) == "ksherpay" && o.PayMchOrderNo == no {
			return true
		}
	}
	return false
}

// findV3Refund finds a refund of appid by mch_refund_no (single-use per
// appid).
func (s *Sandbox) findV3Refund(appid, mchRefundNo string) (*Order, *Refund) {
	for _, o := range s.st.Orders {
		if o.API != apiV3 || o.Merchant != appid {
			continue
		}
		for _, r := range o.Refunds {
			if r.MchRefundNo == mchRefundNo {
				return o, r
			}
		}
	}
	return nil, nil
}

// findVIP finds a vip order by merchant_order_id (unique per account).
func (s *Sandbox) findVIP(id string) *Order {
	for _, o := range s.st.Orders {
		if o.API == apiVIP && o.MchOrderNo == id {
			return o
		}
	}
	return nil
}

// findVIPRefund finds a vip refund record by refund_order_id.
func (s *Sandbox) findVIPRefund(id string) (*Order, *Refund) {
	for _, o := range s.st.Orders {
		if o.API != apiVIP {
			continue
		}
		for _, r := range o.Refunds {
			if r.MchRefundNo == id {
				return o, r
			}
		}
	}
	return nil, nil
}

// findUUID finds an order by its checkout order_uuid.
func (s *Sandbox) findUUID(id string) *Order {
	for _, o := range s.st.Orders {
		if o.UUID == id {
			return o
		}
	}
	return nil
}
