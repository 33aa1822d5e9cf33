package sandbox

import (
	"slices"
	"strings"

	"github.com/ksherdash/ksherdash/gateway"
)

// channelRule is what the sandbox knows about one payment channel besides
// its refund rules, which are gateway's (gateway.RefundRuleFor, the table
// the client uses too). Ksher publishes none of these numbers per
// merchant; the values below are plausible defaults so that payments and
// settlements behave like a real account. All of them are UNCONFIRMED
// except the minimums (API.md E.1, E.2, E.4).
type channelRule struct {
	// MDR in hundredths of a percent (80 = 0.80 %), charged on gross sales.
	mdrBP int64
	// Settlement cycle in business days (T+n), as merchant_info reports it.
	cycle int
	// Smallest order amount in minor units (API.md E.1).
	min int64
	// Payer currency and FX rate (payer units per THB, 6 decimals) for
	// cash_fee; empty = the order currency at 1.000000.
	cashType string
	rate     string
	// Display name on the hosted checkout page.
	name string
}

var channelRules = map[string]channelRule{
	"promptpay":        {mdrBP: 80, cycle: 1, min: 100, name: "PromptPay"},
	"bbl_promptpay":    {mdrBP: 80, cycle: 1, min: 100, name: "PromptPay (BBL)"},
	"truemoney":        {mdrBP: 180, cycle: 1, min: 100, name: "TrueMoney Wallet"},
	"linepay":          {mdrBP: 200, cycle: 1, min: 100, name: "Rabbit LINE Pay"},
	"airpay":           {mdrBP: 180, cycle: 1, min: 100, name: "ShopeePay"},
	"alipay":           {mdrBP: 200, cycle: 2, min: 100, cashType: "CNY", rate: "0.201400", name: "Alipay"},
	"alipayplus":       {mdrBP: 200, cycle: 2, min: 100, name: "Alipay+"},
	"wechat":           {mdrBP: 200, cycle: 2, min: 100, cashType: "CNY", rate: "0.201400", name: "WeChat Pay"},
	"atome":            {mdrBP: 350, cycle: 3, min: 2000, name: "Atome"},
	"scb_easy":         {mdrBP: 150, cycle: 1, min: 2000, name: "SCB Easy"},
	"bbl_deeplink":     {mdrBP: 150, cycle: 1, min: 2000, name: "Bualuang mBanking"},
	"baybank_deeplink": {mdrBP: 150, cycle: 1, min: 2000, name: "Krungsri KMA"},
	"kplus":            {mdrBP: 150, cycle: 1, min: 2000, name: "K PLUS"},
	"card":             {mdrBP: 250, cycle: 2, min: 100, name: "Credit/debit card"},
	"ktbcard":          {mdrBP: 250, cycle: 2, min: 100, name: "Card (KTB)"},
	"ktccard":          {mdrBP: 250, cycle: 2, min: 100, name: "Card (KTC)"},
	"ktc_instal":       {mdrBP: 300, cycle: 3, min: 300000, name: "KTC installment"},
	"kbank_instal":     {mdrBP: 300, cycle: 3, min: 300000, name: "KBank installment"},
	"kcc_instal":       {mdrBP: 300, cycle: 3, min: 300000, name: "Krungsri installment"},
	"kfc_instal":       {mdrBP: 300, cycle: 3, min: 300000, name: "Krungsri First Choice installment"},
}

// refundRule is gateway's refund rule of a channel (permissive for one it
// does not know).
func refundRule(ch string) gateway.RefundRule {
	r, _ := gateway.RefundRuleFor(ch)
	return r
}

// Channel sets per kind of order (API.md E.2).
var (
	bscancChannels   = []string{"wechat", "alipay", "alipayplus", "truemoney", "airpay", "linepay"}
	nativeChannels   = []string{"promptpay", "bbl_promptpay", "alipay", "wechat", "truemoney", "airpay", "linepay", "alipayplus"}
	miniappChannels  = []string{"wechat", "alipay"}
	appChannels      = []string{"wechat", "alipay", "alipayplus", "linepay", "airpay", "truemoney"}
	hostedChannels   = []string{"promptpay", "truemoney", "linepay", "airpay", "alipay", "alipayplus", "wechat", "card", "ktbcard", "atome", "scb_easy", "bbl_deeplink", "baybank_deeplink", "kplus", "ktc_instal", "kbank_instal", "kcc_instal", "kfc_instal", "bbl_promptpay", "ktccard"}
	defaultCheckout  = []string{"promptpay", "truemoney", "linepay", "airpay", "alipay", "wechat", "card"}
	vipReportChannel = []string{"promptpay", "truemoney", "linepay", "airpay", "alipay", "wechat", "card", "bbl_promptpay", "ktbcard"}
)

// ruleFor returns the rule of a channel, with safe defaults for a channel
// the table does not know.
func ruleFor(ch string) channelRule {
	if r, ok := channelRules[ch]; ok {
		return r
	}
	return channelRule{mdrBP: 200, cycle: 1, min: 100, name: ch}
}

// splitChannels parses a comma list ("promptpay,truemoney"), tolerating
// spaces and empty items.
func splitChannels(s string) []string {
	var out []string
	for _, c := range strings.Split(s, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// mdrFee is the MDR on gross, rounded half up, in minor units.
func mdrFee(gross int64, ch string) int64 {
	if gross <= 0 {
		return 0
	}
	return (gross*ruleFor(ch).mdrBP + 5000) / 10000
}

// vatOn is 7 % VAT on a fee, rounded half up.
func vatOn(fee int64) int64 {
	if fee <= 0 {
		return 0
	}
	return (fee*7 + 50) / 100
}

// minTransfer is the per-wallet minimum transfer: 100 THB in satang. A day
// whose accumulated net stays below it is carried over to the next
// settlement (PRODUCT.md "below the 100 THB per-wallet minimum").
const minTransfer = 10000

// currencyDecimals gives the number of minor-unit digits of a currency.
// JPY has none; API.md E.1 leaves Ksher's meaning of "cent" for JPY
// UNCONFIRMED, so the sandbox treats total_fee as whole yen.
func currencyDecimals(cur string) int {
	switch cur {
	case "JPY", "KRW", "VND", "IDR":
		return 0
	}
	return 2
}

// cashFor converts an order amount into the payer's wallet currency with
// the channel's rate, as cash_fee/cash_fee_type/rate report it.
func cashFor(amount int64, cur, ch string) (cash int64, cashType, rate string) {
	r := ruleFor(ch)
	if r.cashType == "" || cur != "THB" {
		return amount, cur, "1.000000"
	}
	// rate has 6 decimals: cash = amount * rate, rounded half up.
	micro := parseMicro(r.rate)
	return (amount*micro + 500000) / 1000000, r.cashType, r.rate
}

// parseMicro parses "0.201400" into 201400.
func parseMicro(s string) int64 {
	whole, frac, _ := strings.Cut(s, ".")
	frac = (frac + "000000")[:6]
	var n int64
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	return n
}
