package money_test

import (
	"errors"
	"math"
	"testing"

	"github.com/ksherdash/ksherdash/models/money"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		in, cur  string
		want     int64
		wantFail bool
	}{
		{name: "grouped with satang", in: "1,234.50", cur: "THB", want: 123450},
		{name: "one decimal", in: "1234.5", cur: "THB", want: 123450},
		{name: "whole baht", in: "500", cur: "THB", want: 50000},
		{name: "satang only", in: "0.01", cur: "THB", want: 1},
		{name: "spaces around", in: "  12.30 ", cur: "thb", want: 1230},
		{name: "millions", in: "1,000,000.00", cur: "THB", want: 100000000},
		{name: "zero", in: "0", cur: "THB", want: 0},
		{name: "yen", in: "1,234", cur: "JPY", want: 1234},
		{name: "three-decimal currency", in: "1.234", cur: "KWD", want: 1234},
		{name: "largest", in: "92,233,720,368,547,757.00", cur: "THB", want: 9223372036854775700},
		{name: "too many decimals", in: "1.234", cur: "THB", wantFail: true},
		{name: "yen has no decimals", in: "1.5", cur: "JPY", wantFail: true},
		{name: "negative", in: "-5", cur: "THB", wantFail: true},
		{name: "plus sign", in: "+5", cur: "THB", wantFail: true},
		{name: "exponent", in: "1e3", cur: "THB", wantFail: true},
		{name: "empty", in: "", cur: "THB", wantFail: true},
		{name: "point only", in: ".", cur: "THB", wantFail: true},
		{name: "no whole part", in: ".50", cur: "THB", wantFail: true},
		{name: "trailing point", in: "5.", cur: "THB", wantFail: true},
		{name: "bad grouping", in: "1,23.00", cur: "THB", wantFail: true},
		{name: "long first group", in: "1234,567", cur: "THB", wantFail: true},
		{name: "leading comma", in: ",123", cur: "THB", wantFail: true},
		{name: "comma as decimal point", in: "12,50", cur: "THB", wantFail: true},
		{name: "currency sign", in: "฿100", cur: "THB", wantFail: true},
		{name: "garbage", in: "abc", cur: "THB", wantFail: true},
		{name: "inner space", in: "1 000", cur: "THB", wantFail: true},
		{name: "thai digits", in: "๑๒", cur: "THB", wantFail: true},
		{name: "overflow", in: "92233720368547758.08", cur: "THB", wantFail: true},
		{name: "huge", in: "99999999999999999999", cur: "JPY", wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := money.Parse(tt.in, tt.cur)
			if tt.wantFail {
				if err == nil {
					t.Errorf("Parse(%q, %s) = %d, want an error", tt.in, tt.cur, got)
				} else if !errors.Is(err, money.ErrInvalid) {
					t.Errorf("error = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Parse(%q, %s) = %d, %v; want %d", tt.in, tt.cur, got, err, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		v    int64
		cur  string
		want string
	}{
		{123450, "THB", "1,234.50"},
		{1, "THB", "0.01"},
		{0, "THB", "0.00"},
		{100000000, "THB", "1,000,000.00"},
		{-123450, "THB", "-1,234.50"},
		{1234, "JPY", "1,234"},
		{999, "JPY", "999"},
		{1234, "KWD", "1.234"},
		{math.MinInt64, "JPY", "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		if got := money.Format(tt.v, tt.cur); got != tt.want {
			t.Errorf("Format(%d, %s) = %q, want %q", tt.v, tt.cur, got, tt.want)
		}
	}
}

// Whatever FormatMinor writes, ParseMinor reads back to the same value.
func TestMoneyRoundTrip(t *testing.T) {
	for _, cur := range []string{"THB", "JPY", "KWD"} {
		for _, v := range []int64{0, 1, 9, 10, 99, 100, 101, 999, 1000, 123456789, math.MaxInt64 / 1000} {
			s := money.Format(v, cur)
			got, err := money.Parse(s, cur)
			if err != nil || got != v {
				t.Errorf("%s: Parse(Format(%d)) = Parse(%q) = %d, %v", cur, v, s, got, err)
			}
		}
	}
}
