package handlers

import (
	"strings"
	"testing"
)

func TestGroupBy4(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"A", "A"},
		{"ABC", "ABC"},
		{"ABCD", "ABCD"},
		{"ABCDE", "ABCD E"},
		{"ABCDEFGH", "ABCD EFGH"},
		{"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"},
	}
	for _, tt := range tests {
		got := groupBy4(tt.in)
		if got != tt.want {
			t.Errorf("groupBy4(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// The secret typed back without its spaces is the secret.
		if back := strings.ReplaceAll(got, " ", ""); back != tt.in {
			t.Errorf("groupBy4(%q) without spaces = %q", tt.in, back)
		}
	}
}
