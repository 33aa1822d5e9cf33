package models

import (
	"errors"

	"github.com/ksherdash/ksherdash/models/money"
)

// ErrMoney is returned by ParseMinor for anything that is not an exact,
// non-negative amount in the currency.
var ErrMoney = &Error{Code: EINVALID, Message: "Enter an amount such as 1,234.50."}

// ParseMinor parses an amount typed by a person into integer minor units
// (see money.Parse), as an EINVALID error when it is not exact.
func ParseMinor(s, currency string) (int64, error) {
	v, err := money.Parse(s, currency)
	if errors.Is(err, money.ErrInvalid) {
		return 0, ErrMoney
	}
	return v, err
}
