package views

import (
	"strconv"
	"time"

	amount "github.com/ksherdash/ksherdash/models/money"
)

// Money is an amount in integer minor units of a currency. Views format it
// with money(); nothing else turns it into text.
type Money struct {
	Minor    int64
	Currency string
}

// money formats m with its currency's own decimals (THB 2, JPY 0) and
// thousands separators. It is amount.Format from the leaf package
// models/money, so that parsing (amount.Parse) and display never disagree.
func money(m Money) string {
	return amount.Format(m.Minor, m.Currency)
}

// Option is one choice of a select or checkbox group.
type Option struct {
	Value    string
	Label    string // already translated, or "" to show Value
	Selected bool
}

// OrderRowVM is one order in a list or among search results.
type OrderRowVM struct {
	ID             int64
	URL            string // its detail page, under its own mid
	Mid            string
	MchOrderNo     string
	KsherOrderNo   string
	ChannelOrderNo string
	Status         string // models.Status* value
	Channel        string
	Amount         Money
	Refunded       Money
	CreatedAt      Moment // in its mid's account's zone
}

// OrderListVM is the orders list with its filter form.
type OrderListVM struct {
	Mid      string // the URL's mid, or "all"
	All      bool   // /m/all: a mid column and a mid filter
	Action   string // the list's own URL, without query
	Zone     string // the zone the filter's days are in, named by the page; rows in another name theirs
	Currency string // of the amount filter
	// The filter as typed (so a refused value stays in its field).
	From, To, Min, Max, Text string
	Statuses                 []Option
	Channels                 []Option
	Mids                     []Option
	Sorts                    []Option
	PerPage                  []Option
	Errors                   map[string]string // field -> message (worded)
	Rows                     []OrderRowVM
	FirstURL, PrevURL        string // "" when on the first page
	NextURL                  string // "" on the last page
	Query                    string // the filter's query string, without the page cursor
	SavedViews               []SavedViewVM
	SaveURL                  string
	SaveError                string // the save form's problem (worded)
	CSRF                     string
	Partial                  bool        // rendered alone for htmx: also refresh the form's status summary (out of band)
	Switcher                 []MidOption // with Partial: the header's mid switcher for the new URL (out of band)
}

// SavedViewVM is one of the person's saved list views.
type SavedViewVM struct {
	ID        int64
	Name      string
	URL       string
	DeleteURL string
	Current   bool // the list shows exactly this view
}

// SearchVM is the search page.
type SearchVM struct {
	Query    string
	Zone     string    // the zone the page names; a hit in another names its own
	Now      time.Time // for how old each answer is
	Searched bool
	Hits     []SearchHitVM
	// What was tried when nothing was found (or a mid failed).
	CacheMids []string
	Live      []LiveTryVM
	// When nothing carries the number: cached orders whose merchant order
	// number starts with it (a number typed in part), and the orders list
	// filtered by it when there are more.
	Similar     []OrderRowVM
	SimilarMore bool
	SimilarURL  string
	// OverBudget: lookup budgets that stopped this search from asking
	// Ksher (the page shows what the cache has).
	OverBudget []BudgetNoticeVM
}

// BudgetNoticeVM says that a budget of live Ksher lookups is spent.
type BudgetNoticeVM struct {
	Scope   string // person or account
	Account string // the merchant account (scope account)
	Limit   int    // searches a minute
	Seconds int    // until the budget is renewed
}

// SearchHitVM is one order found, with where the answer came from.
type SearchHitVM struct {
	OrderRowVM
	MatchedBy string // mch_order_no, ksher_order_no, channel_order_no, gateway_order_no, refund
	Live      bool   // Ksher answered this very search
	Seen      Moment // when Ksher last spoke about it (or when it was cached)
}

// LiveTryVM is what a search asked Ksher on one mid.
type LiveTryVM struct {
	Mid    string
	API    string   // v3 or vip
	Tried  []string // question labels: mch_order_no, ksher_order_no, payment_link, channel_order_no, redirect, ...
	Called bool     // this search asked; false: another asked moments ago
	At     Moment   // when Ksher was last asked (zero when never)
	Found  bool
	Error  string // a short code when Ksher could not be asked or did not answer
	// Timeout: Ksher did not answer in time (the page says so in words).
	Timeout bool
	// ErrorID and ErrorData word any other failure for people: the catalog
	// message of its domain error (models.GatewayError: "Ksher's answer
	// could not be used", "Ksher asks to wait..."), beside the code.
	ErrorID   string
	ErrorData map[string]any
	// OverBudget: Ksher was not asked, a lookup budget being spent.
	OverBudget bool
}

// OrderShowVM is an order's detail page.
type OrderShowVM struct {
	Order          OrderRowVM
	Kind           string
	GatewayOrderNo string
	RawStatus      string
	Product        string
	Source         string
	Paid           Money // what the payer was charged, in the payer's currency
	Rate           string
	Refundable     Money
	PaidAt         Moment // zero when not paid
	CheckedAt      Moment // zero when Ksher never answered about it
	NotifiedAt     Moment
	UpdatedAt      Moment
	Zone           string // the order's account's zone
	Timeline       []OrderEventVM
	Refunds        []RefundVM
	Raw            string // pretty-printed gateway answer, secrets redacted; "" when none
	RefreshURL     string // "" when the person may not refresh
	CSRF           string // the refresh form's token (the form works without JavaScript)
	NextAskAt      Moment // when Ksher may be asked again; zero when it may be asked now
	Notice         *OrderNotice
	// RefundPanel: nil when the person may not refund on the order's mid.
	RefundPanel *RefundPanelVM
}

// OrderNotice says what asking Ksher did.
type OrderNotice struct {
	Kind    string         // "info" or "error"
	ID      string         // message id
	Data    map[string]any // its placeholders
	Latency string
}

// OrderEventVM is one line of an order's timeline.
type OrderEventVM struct {
	At          Moment
	Kind        string
	Summary     string // what happened, in the page's language (or in SummaryLang)
	SummaryLang string // "" for the page's language; "en" for an entry stored only as English text
	OK          bool
	Latency     string // "213 ms" in the page's language, or ""
}

// RefundVM is one refund of an order.
type RefundVM struct {
	URL             string // its page
	MchRefundNo     string
	KsherRefundNo   string
	ChannelRefundNo string
	Amount          Money
	Status          string
	At              Moment
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
