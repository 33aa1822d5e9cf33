package gateway

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Helpers reading JSON-decoded (UseNumber) values leniently: Ksher sends
// some numbers as strings ("refund_count":"2") and some ids as numbers.

func str(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// integer reads an integer amount; "" or missing is 0. A decimal value is
// rounded to the nearest integer.
func integer(m map[string]any, key string) int64 {
	n, _ := toInt64(m[key])
	return n
}

func toInt64(v any) (int64, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	case float64:
		return int64(math.Round(x)), true
	case int:
		return int64(x), true
	case int64:
		return x, true
	default:
		return 0, false
	}
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	// Out of int64's range the conversion below is not defined (amd64 gives
	// math.MinInt64 for 1e19): such a number is no amount.
	if r := math.Round(f); r < math.MinInt64 || r >= math.MaxInt64 {
		return 0, false
	}
	return int64(math.Round(f)), true
}

// reportAmount reads an amount of a vip finance report. Their unit is
// UNCONFIRMED (API.md B.4.4): the order APIs use minor units, so integers
// are taken as minor units; a value with a fractional part can only be in
// major units and is converted (×100, rounded half away from zero).
func reportAmount(m map[string]any, key string) int64 {
	var s string
	switch x := m[key].(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		n, _ := toInt64(x)
		return n
	}
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0
	}
	r.Mul(r, big.NewRat(100, 1))
	f, _ := r.Float64()
	return int64(math.Round(f))
}

func boolean(m map[string]any, key string) bool {
	switch v := m[key].(type) {
	case bool:
		return v
	case string:
		switch strings.ToLower(v) {
		case "true", "y", "yes", "1":
			return true
		}
	case json.Number:
		return v.String() != "0"
	}
	return false
}

func object(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

func objects(m map[string]any, key string) []map[string]any {
	var out []map[string]any
	switch v := m[key].(type) {
	case []any:
		for _, e := range v {
			if o, ok := e.(map[string]any); ok {
				out = append(out, o)
			}
		}
	case []map[string]any:
		out = v
	}
	return out
}

func strs(m map[string]any, key string) []string {
	var out []string
	if v, ok := m[key].([]any); ok {
		for _, e := range v {
			switch x := e.(type) {
			case string:
				out = append(out, x)
			case map[string]any:
				// some answers list channels as objects
				if n := str(x, "channel"); n != "" {
					out = append(out, n)
				} else if n := str(x, "pay_channel"); n != "" {
					out = append(out, n)
				} else if n := str(x, "name"); n != "" {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// setOpt puts an optional string field into a request map.
func setOpt(m map[string]any, key string, v *string) {
	if v != nil {
		m[key] = *v
	}
}

// stripTags removes HTML tags from vip 400 descriptions.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>' && in:
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

func rawJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
