package sandbox

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

//go:embed pages/*.html pages/*.css
var pageFS embed.FS

func parsePages() (*template.Template, error) {
	t, err := template.ParseFS(pageFS, "pages/*.html")
	if err != nil {
		return nil, fmt.Errorf("sandbox: parse pages: %w", err)
	}
	return t, nil
}

func serveCSS(w http.ResponseWriter) {
	b, _ := pageFS.ReadFile("pages/checkout.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(b)
}

// checkoutVM is what the hosted payment page shows.
type checkoutVM struct {
	UUID     string
	Lang     string
	Shop     string
	Product  string
	OrderNo  string
	Amount   string
	Currency string
	Channels []channelVM
	Payable  bool
	Title    string
	Message  string
	Back     string
	Error    string
}

type channelVM struct {
	ID, Name string
	Checked  bool
	Disabled bool
	Note     string
}

// formatMinor renders minor units with the currency's decimals.
func formatMinor(n int64, cur string) string {
	if currencyDecimals(cur) == 0 {
		return fmt.Sprint(n)
	}
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	whole := fmt.Sprint(n / 100)
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return fmt.Sprintf("%s%s.%02d", sign, b.String(), n%100)
}

// checkoutModel builds the page of o (caller holds s.mu).
func (s *Sandbox) checkoutModel(o *Order) checkoutVM {
	vm := checkoutVM{
		UUID: o.UUID, Lang: o.Lang, Shop: firstNonEmpty(o.ShopName, "Sandbox merchant "+mchNumber(o.Merchant)),
		Product: o.Product, OrderNo: firstNonEmpty(o.MchCode, o.MchOrderNo), Amount: formatMinor(o.Amount, o.Currency),
		Currency: o.Currency, Payable: o.payable(),
	}
	if vm.Lang == "" {
		vm.Lang = "en"
	}
	checked := false
	for _, ch := range checkoutChannels(o) {
		c := channelVM{ID: ch, Name: ruleFor(ch).name}
		if o.Currency == "THB" && o.Amount < ruleFor(ch).min {
			c.Disabled, c.Note = true, "minimum "+formatMinor(ruleFor(ch).min, "THB")+" THB"
		}
		if !c.Disabled && !checked {
			c.Checked, checked = true, true
		}
		vm.Channels = append(vm.Channels, c)
	}
	switch o.State {
	case stPaid:
		vm.Title, vm.Message, vm.Back = "Payment received", "This order has been paid.", o.RedirectURL
	case stFailed:
		vm.Title, vm.Message, vm.Back = "Payment failed", "The payment was refused.", o.RedirectFailURL
	case stExpired:
		vm.Title, vm.Message, vm.Back = "Link expired", "This payment link has expired.", o.RedirectFailURL
	case stClosed, stReversed:
		vm.Title, vm.Message, vm.Back = "Order closed", "The merchant has cancelled this order.", o.RedirectFailURL
	default:
		vm.Title = "Pay " + vm.Shop
	}
	return vm
}

func (s *Sandbox) render(name string, vm any, status int) *reply {
	var b bytes.Buffer
	if err := s.pages.ExecuteTemplate(&b, name, vm); err != nil {
		s.log.Error("Sandbox page not rendered.", "page", name, "error", err)
		return &reply{status: http.StatusInternalServerError, raw: []byte("internal error"), ctype: "text/plain; charset=utf-8"}
	}
	return &reply{status: status, raw: b.Bytes(), ctype: "text/html; charset=utf-8"}
}

// serveCheckout is the hosted payment page: GET shows the order, POST
// (channel + action pay|fail|abandon) applies the payer's choice and
// redirects to the merchant's success or fail URL. Plain HTML forms, no
// script.
func (s *Sandbox) serveCheckout(w http.ResponseWriter, r *http.Request) {
	op := "checkout"
	if r.Method == http.MethodPost {
		op = "checkout.submit"
	}
	limited := func() *reply {
		return &reply{status: http.StatusTooManyRequests, raw: []byte("too many requests"), ctype: "text/plain; charset=utf-8"}
	}
	s.run(w, r, op, limited, func() *reply {
		if err := r.ParseForm(); err != nil {
			return &reply{status: http.StatusBadRequest, raw: []byte("bad form"), ctype: "text/plain; charset=utf-8"}
		}
		id := r.Form.Get("order_uuid")
		s.mu.Lock()
		defer s.mu.Unlock()
		o := s.findUUID(id)
		if o == nil {
			return s.render("missing.html", nil, http.StatusNotFound)
		}
		s.refresh(o)
		if r.Method != http.MethodPost {
			return s.render("checkout.html", s.checkoutModel(o), http.StatusOK)
		}
		action := r.PostForm.Get("action")
		if err := s.payerLocked(o, r.PostForm.Get("channel"), action); err != nil {
			vm := s.checkoutModel(o)
			vm.Error = strings.TrimPrefix(err.Error(), "sandbox: ")
			return s.render("checkout.html", vm, http.StatusOK)
		}
		target := o.RedirectURL
		if action != OutcomePay {
			target = o.RedirectFailURL
		}
		if target == "" {
			target = s.checkoutURL(o)
		}
		return &reply{status: http.StatusSeeOther, location: target, raw: nil, ctype: "text/plain; charset=utf-8"}
	})
}
