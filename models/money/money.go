// Package money parses and formats amounts held as int64 minor units of a
// currency (satang for THB, whole yen for JPY), exactly, never through
// floating point. It is a leaf package: models validates input with Parse,
// views display amounts with Format, and both agree on every currency's
// decimals because this is the one place that knows them.
package money

import (
	"errors"
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

// Decimals returns the number of decimals of a currency's minor
// unit: 2 for THB (satang), 0 for JPY.
func Decimals(currency string) int {
	if d, ok := currencyDecimals[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// ErrInvalid is returned by Parse for anything that is not an exact,
// non-negative amount in the currency.
var ErrInvalid = errors.New("money: not an exact amount in the currency")

// Parse parses an amount typed by a person into integer minor units,
// exactly (no floating point): Parse("1,234.50", "THB") = 123450,
// Parse("1,234", "JPY") = 1234. Commas are accepted only as thousands
// separators; more decimals than the currency has ("1.234" baht), signs,
// exponents and anything else are refused with ErrInvalid.
func Parse(s, currency string) (int64, error) {
	s = strings.TrimSpace(s)
	decimals := Decimals(currency)
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && (frac == "" || len(frac) > decimals)) {
		return 0, ErrInvalid
	}
	if strings.Contains(whole, ",") {
		groups := strings.Split(whole, ",")
		if len(groups[0]) == 0 || len(groups[0]) > 3 {
			return 0, ErrInvalid
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return 0, ErrInvalid
			}
		}
		whole = strings.Join(groups, "")
	}
	if !allDigits(whole) || !allDigits(frac) {
		return 0, ErrInvalid
	}
	frac += strings.Repeat("0", decimals-len(frac))
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, ErrInvalid // overflow
	}
	var f int64
	if frac != "" {
		if f, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return 0, ErrInvalid
		}
	}
	// The bound takes the fraction into account, so that every amount
	// Format writes (up to math.MaxInt64) parses back.
	scale := int64(math.Pow10(decimals))
	if w > (math.MaxInt64-f)/scale {
		return 0, ErrInvalid
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

// Format renders minor units with the currency's decimals and
// thousands separators: Format(123450, "THB") = "1,234.50".
func Format(v int64, currency string) string {
	decimals := Decimals(currency)
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
