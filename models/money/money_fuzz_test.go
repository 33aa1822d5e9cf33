package money_test

import (
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/ksherdash/ksherdash/models/money"
)

// FuzzMoney checks the two directions against exact arithmetic: every
// non-negative amount survives Format then Parse unchanged (negative ones
// are refused), and whatever Parse accepts is the exact value of the text,
// formats with the currency's decimals, and parses back to itself.
func FuzzMoney(f *testing.F) {
	for _, cur := range []string{"THB", "JPY", "KWD", "thb", "XXX"} {
		f.Add(int64(123450), cur, "1,234.50")
		f.Add(int64(math.MaxInt64), cur, "92,233,720,368,547,758.07")
		f.Add(int64(math.MinInt64), cur, "-1")
		f.Add(int64(0), cur, " 0.01 ")
	}
	f.Add(int64(1), "THB", "1e3")
	f.Add(int64(1), "THB", "๑๒")
	f.Add(int64(1), "JPY", "9,223,372,036,854,775,807")
	f.Fuzz(func(t *testing.T, v int64, cur, s string) {
		dec := money.Decimals(cur)
		text := money.Format(v, cur)
		got, err := money.Parse(text, cur)
		switch {
		case v >= 0 && (err != nil || got != v):
			t.Fatalf("Parse(Format(%d, %q) = %q) = %d, %v", v, cur, text, got, err)
		case v < 0 && err == nil:
			t.Fatalf("Parse(%q) accepted a negative amount", text)
		}
		if _, frac, _ := strings.Cut(text, "."); len(frac) != dec {
			t.Fatalf("Format(%d, %q) = %q: %d decimals, want %d", v, cur, text, len(frac), dec)
		}
		n, err := money.Parse(s, cur)
		if err != nil {
			return
		}
		exact, ok := new(big.Rat).SetString(strings.ReplaceAll(strings.TrimSpace(s), ",", ""))
		if !ok {
			t.Fatalf("Parse(%q, %q) = %d, but the text is not a number", s, cur, n)
		}
		exact.Mul(exact, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(dec)), nil)))
		if !exact.IsInt() || exact.Num().Cmp(big.NewInt(n)) != 0 || n < 0 {
			t.Fatalf("Parse(%q, %q) = %d, the text is %s minor units", s, cur, n, exact.RatString())
		}
		if back, err := money.Parse(money.Format(n, cur), cur); err != nil || back != n {
			t.Fatalf("Parse(Format(%d)) = %d, %v", n, back, err)
		}
	})
}
