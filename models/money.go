package models

import (
	"math"
	"strconv"
	"strings"
)

// currencyDecimals lists the currencies whose minor unit is not the
// hundredth (ISO 4217). Every other currency has 2 decimals.
var currencyDecimals = map[string]int{
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0,
	"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3,
}

// CurrencyDecimals returns the number of decimals of a currency's minor
// unit: 2 for THB (satang), 0 for JPY.
func CurrencyDecimals(currency string) int {
	if d, ok := currencyDecimals[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// ErrMoney is returned by ParseMinor for anything that is not an exact,
// non-negative amount in the currency.
var ErrMoney = &Error{Code: EINVALID, Message: "Enter an amount such as 1,234.50."}

// ParseMinor parses an amount typed by a person into integer minor units,
// exactly (no floating point): ParseMinor("1,234.50", "THB") = 123450,
// ParseMinor("1,234", "JPY") = 1234. Commas are accepted only as thousands
// separators; more decimals than the currency has ("1.234" baht), signs,
// exponents and anything else are refused with ErrMoney.
func ParseMinor(s, currency string) (int64, error) {
	s = strings.TrimSpace(s)
	decimals := CurrencyDecimals(currency)
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && (frac == "" || len(frac) > decimals)) {
		return 0, ErrMoney
	}
	if strings.Contains(whole, ",") {
		groups := strings.Split(whole, ",")
		if len(groups[0]) == 0 || len(groups[0]) > 3 {
			return 0, ErrMoney
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return 0, ErrMoney
			}
		}
		whole = strings.Join(groups, "")
	}
	if !allDigits(whole) || !allDigits(frac) {
		return 0, ErrMoney
	}
	frac += strings.Repeat("0", decimals-len(frac))
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, ErrMoney // overflow
	}
	scale := int64(math.Pow10(decimals))
	if w > (math.MaxInt64-scale)/scale {
		return 0, ErrMoney
	}
	var f int64
	if frac != "" {
		if f, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return 0, ErrMoney
		}
	}
	return w*scale + f, nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// FormatMinor renders minor units with the currency's decimals and
// thousands separators: FormatMinor(123450, "THB") = "1,234.50".
func FormatMinor(v int64, currency string) string {
	decimals := CurrencyDecimals(currency)
	neg := v < 0
	u := uint64(v)
	if neg {
		u = uint64(-(v + 1)) + 1 // MinInt64 has no positive int64
	}
	digits := strconv.FormatUint(u, 10)
	if len(digits) <= decimals {
		digits = strings.Repeat("0", decimals-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-decimals], digits[len(digits)-decimals:]
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if decimals > 0 {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}
