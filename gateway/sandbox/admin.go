package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// SetWebhookURL changes the vip webhook target ("" turns webhooks off).
func (s *Sandbox) SetWebhookURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.WebhookURL = u
	s.save()
}

// WebhookURL returns the current vip webhook target.
func (s *Sandbox) WebhookURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.WebhookURL
}

// SetAllowPartialRefund sets appid's merchant_info flag
// allow_partial_refund (default Y). With N, v3 refunds must be for the
// whole order amount.
func (s *Sandbox) SetAllowPartialRefund(appid string, allow bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.NoPartial == nil {
		s.st.NoPartial = map[string]bool{}
	}
	if allow {
		delete(s.st.NoPartial, appid)
	} else {
		s.st.NoPartial[appid] = true
	}
	s.save()
}

// Repeated refund numbers: what the sandbox answers when a refund number
// already used is sent again for the same order and amount. Ksher
// documents a refund number as single-use and not what it answers to a
// repeat (API.md E.3, UNCONFIRMED), so the sandbox can play both.
const (
	// RepeatSameRefund answers with the refund already made (the default).
	RepeatSameRefund = "same"
	// RepeatRefused refuses it as a duplicate (v3 result FAIL
	// KSHER_DUPLICATE_REFUND_NO, vip HTTP 400 "Duplicate refund_order_id.").
	RepeatRefused = "refuse"
)

// SetRepeatedRefunds sets what a repeated refund number gets: RepeatSameRefund
// or RepeatRefused.
func (s *Sandbox) SetRepeatedRefunds(mode string) error {
	if mode != RepeatSameRefund && mode != RepeatRefused {
		return errors.New("repeated_refunds must be " + RepeatSameRefund + " or " + RepeatRefused)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.RefuseRepeats = mode == RepeatRefused
	s.save()
	return nil
}

func (s *Sandbox) repeatMode() string {
	if s.st.RefuseRepeats {
		return RepeatRefused
	}
	return RepeatSameRefund
}

// Orders returns copies of the orders held, oldest first.
func (s *Sandbox) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Order, 0, len(s.st.Orders))
	for _, o := range s.st.Orders {
		c := *o
		c.Refunds = nil
		for _, r := range o.Refunds {
			rc := *r
			c.Refunds = append(c.Refunds, &rc)
		}
		out = append(out, c)
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// adminFields reads a JSON object or form body plus the query string.
func adminFields(r *http.Request) (map[string]any, error) {
	f := map[string]any{}
	for k, v := range r.URL.Query() {
		f[k] = v[0]
	}
	body := bytes.TrimSpace(readBody(r))
	if len(body) == 0 {
		return f, nil
	}
	if body[0] == '{' {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		maps.Copy(f, m)
		return f, nil
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	for k, v := range vals {
		f[k] = v[0]
	}
	return f, nil
}

func text(f map[string]any, keys ...string) string {
	for _, k := range keys {
		if v, ok := f[k]; ok && v != nil {
			if s, ok := v.(string); ok {
				return s
			}
			b, _ := json.Marshal(v)
			return strings.Trim(string(b), `"`)
		}
	}
	return ""
}

// serveAdmin serves the control endpoints under /_sandbox/ (README.md).
// They are not part of Ksher's APIs and need no signature.
func (s *Sandbox) serveAdmin(w http.ResponseWriter, r *http.Request, p string) {
	switch strings.Trim(p, "/") {
	case "faults":
		s.adminFaults(w, r)
	case "calls":
		switch r.Method {
		case http.MethodGet:
			s.mu.Lock()
			c := maps.Clone(s.calls)
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, c)
		case http.MethodDelete:
			s.ResetCalls()
			w.WriteHeader(http.StatusNoContent)
		default:
			writeErr(w, http.StatusMethodNotAllowed, "use GET or DELETE")
		}
	case "pay":
		s.adminPay(w, r)
	case "config":
		s.adminConfig(w, r)
	case "orders":
		writeJSON(w, http.StatusOK, s.Orders())
	case "notifications":
		writeJSON(w, http.StatusOK, s.Notifications())
	case "seed":
		s.adminSeed(w, r)
	default:
		writeErr(w, http.StatusNotFound, "unknown control endpoint")
	}
}

func (s *Sandbox) adminFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.Faults())
	case http.MethodPost, http.MethodPut:
		var list []Fault
		body := bytes.TrimSpace(readBody(r))
		var err error
		if len(body) > 0 && body[0] == '[' {
			err = json.Unmarshal(body, &list)
		} else {
			var f Fault
			err = json.Unmarshal(body, &f)
			if f.Next == 0 {
				// "count" is accepted as a synonym of "next".
				var alt struct {
					Count int `json:"count"`
				}
				json.Unmarshal(body, &alt)
				f.Next = alt.Count
			}
			list = []Fault{f}
		}
		if err != nil {
			writeErr(w, http.StatusBadRequest, "body must be a fault object or an array: "+err.Error())
			return
		}
		for _, f := range list {
			if err := f.validate(); err != nil {
				writeErr(w, http.StatusBadRequest, err.Error())
				return
			}
		}
		if r.Method == http.MethodPut {
			s.ClearFaults()
		}
		var added []Fault
		for _, f := range list {
			a, _ := s.AddFault(f)
			added = append(added, a)
		}
		writeJSON(w, http.StatusCreated, added)
	case http.MethodDelete:
		id, _ := strconv.Atoi(r.URL.Query().Get("id"))
		s.faults.clear(r.URL.Query().Get("op"), id)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeErr(w, http.StatusMethodNotAllowed, "use GET, POST, PUT or DELETE")
	}
}

func (s *Sandbox) adminPay(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeErr(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	f, err := adminFields(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	id := text(f, "order", "mch_order_no", "merchant_order_id", "order_uuid", "ksher_order_no")
	if id == "" {
		writeErr(w, http.StatusBadRequest, "order is required (mch_order_no, merchant_order_id, ksher_order_no or order_uuid)")
		return
	}
	outcome := text(f, "outcome")
	if outcome == "" {
		outcome = OutcomePay
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookup(text(f, "appid", "mid"), id)
	if err != nil {
		writeErr(w, http.StatusNotFound, strings.TrimPrefix(err.Error(), "sandbox: "))
		return
	}
	if err := s.payerLocked(o, text(f, "channel"), outcome); err != nil {
		st := http.StatusBadRequest
		if errors.Is(err, errNotPayable) {
			st = http.StatusConflict
		}
		writeErr(w, st, strings.TrimPrefix(err.Error(), "sandbox: "))
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// configView is the body of GET /_sandbox/config.
type configView struct {
	WebhookURL         string          `json:"webhook_url"`
	AllowPartialRefund map[string]bool `json:"allow_partial_refund"`
	AppIDs             []string        `json:"appids"`
	Mids               []string        `json:"mids"`
	PublicURL          string          `json:"public_url,omitempty"`
	SpeedFactor        float64         `json:"speed_factor"`
	RepeatedRefunds    string          `json:"repeated_refunds"`
}

func (s *Sandbox) adminConfig(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost, http.MethodPut:
		var in struct {
			WebhookURL         *string         `json:"webhook_url"`
			AllowPartialRefund map[string]bool `json:"allow_partial_refund"`
			RepeatedRefunds    *string         `json:"repeated_refunds"`
		}
		body := bytes.TrimSpace(readBody(r))
		if len(body) > 0 && body[0] == '{' {
			if err := json.Unmarshal(body, &in); err != nil {
				writeErr(w, http.StatusBadRequest, err.Error())
				return
			}
		} else if vals, err := url.ParseQuery(string(body)); err == nil && vals.Has("webhook_url") {
			u := vals.Get("webhook_url")
			in.WebhookURL = &u
		}
		if in.WebhookURL != nil {
			if *in.WebhookURL != "" && !validURL(*in.WebhookURL) {
				writeErr(w, http.StatusBadRequest, "webhook_url must be an http(s) URL")
				return
			}
			s.SetWebhookURL(*in.WebhookURL)
		}
		if in.RepeatedRefunds != nil {
			if err := s.SetRepeatedRefunds(*in.RepeatedRefunds); err != nil {
				writeErr(w, http.StatusBadRequest, err.Error())
				return
			}
		}
		for appid, allow := range in.AllowPartialRefund {
			s.SetAllowPartialRefund(appid, allow)
		}
	default:
		writeErr(w, http.StatusMethodNotAllowed, "use GET, POST or PUT")
		return
	}
	s.mu.Lock()
	v := configView{WebhookURL: s.st.WebhookURL, AllowPartialRefund: map[string]bool{}, Mids: s.cfg.Mids,
		PublicURL: s.cfg.PublicURL, SpeedFactor: s.cfg.SpeedFactor, RepeatedRefunds: s.repeatMode()}
	for _, id := range slices.Sorted(maps.Keys(s.cfg.AppIDs)) {
		v.AppIDs = append(v.AppIDs, id)
		v.AllowPartialRefund[id] = !s.st.NoPartial[id]
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
}

func (s *Sandbox) adminSeed(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeErr(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	f, err := adminFields(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	opt := SeedOptions{}
	opt.Seed, _ = strconv.ParseInt(text(f, "seed"), 10, 64)
	opt.Orders, _ = strconv.Atoi(text(f, "orders"))
	opt.Days, _ = strconv.Atoi(text(f, "days"))
	n, err := s.SeedHistory(opt)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"created": n})
}
