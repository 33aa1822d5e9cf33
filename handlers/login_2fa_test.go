package handlers

import (
	"strings"
	"testing"
	"time"

	"github.com/ksherdash/ksherdash/models"
)

func TestLoginToken(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	enabled := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	u := &models.User{ID: 42, PasswordHash: "$2a$11$hash", TOTPEnabledAt: &enabled}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	token := signLoginToken(key, u, now)
	if id, ok := loginTokenUser(token); !ok || id != 42 {
		t.Fatalf("loginTokenUser = %d, %v", id, ok)
	}
	other := *u
	other.ID = 43
	newPassword := *u
	newPassword.PasswordHash = "$2a$11$other"
	reenabled := *u
	later := enabled.Add(time.Second)
	reenabled.TOTPEnabledAt = &later
	tests := []struct {
		name  string
		key   []byte
		token string
		u     *models.User
		at    time.Time
		want  bool
	}{
		{"fresh", key, token, u, now, true},
		{"just before expiry", key, token, u, now.Add(loginTokenTTL), true},
		{"expired", key, token, u, now.Add(loginTokenTTL + time.Second), false},
		{"another person", key, token, &other, now, false},
		{"password changed since", key, token, &newPassword, now, false},
		{"two-factor set up again since", key, token, &reenabled, now, false},
		{"another key", []byte("another key of thirty-two bytes!"), token, u, now, false},
		{"expiry pushed later", key, strings.Replace(token, ".", ".9", 1), u, now, false},
		{"signature cut", key, token[:len(token)-2], u, now, false},
		{"nonce changed", key, strings.Join(func() []string { p := strings.Split(token, "."); p[2] = "AAAA" + p[2][4:]; return p }(), "."), u, now, false},
		{"garbage", key, "42.x.y", u, now, false},
		{"empty", key, "", u, now, false},
	}
	for _, tt := range tests {
		if _, got := checkLoginToken(tt.key, tt.token, tt.u, tt.at); got != tt.want {
			t.Errorf("%s: checkLoginToken = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Each sign-in step has a token of its own, even two in the same second:
// using one up (single-use) must not void the other.
func TestLoginTokensAreDistinct(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	u := &models.User{ID: 42, PasswordHash: "$2a$11$hash"}
	now := time.Now()
	a, b := signLoginToken(key, u, now), signLoginToken(key, u, now)
	if a == b {
		t.Fatalf("two tokens of the same second are equal: %q", a)
	}
	for _, tok := range []string{a, b} {
		if _, ok := checkLoginToken(key, tok, u, now); !ok {
			t.Errorf("token %q does not check", tok)
		}
	}
}
