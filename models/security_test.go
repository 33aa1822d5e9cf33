package models_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ksherdash/ksherdash/models"
)

// A session in constant use still ends at its absolute timeout.
func TestSessionAbsoluteTimeout(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	u := mustOwner(t, s)
	policy := models.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	start := time.Now().UTC()
	s.SetClock(func() time.Time { return start })
	token, _, err := s.CreateSession(ctx, u.ID, "10.0.0.1", "test", policy)
	if err != nil {
		t.Fatal(err)
	}
	// Used every 20 minutes: never idle for 30.
	for at := 20 * time.Minute; at < 12*time.Hour; at += 20 * time.Minute {
		now := start.Add(at)
		s.SetClock(func() time.Time { return now })
		if _, _, err := s.LookupSession(ctx, token, policy); err != nil {
			t.Fatalf("at %v: %v", at, err)
		}
	}
	end := start.Add(12*time.Hour + time.Second)
	s.SetClock(func() time.Time { return end })
	if _, _, err := s.LookupSession(ctx, token, policy); !errors.Is(err, models.ErrSessionEnded) {
		t.Errorf("after 12 h of use: err = %v, want ErrSessionEnded", err)
	}
	live, err := s.LiveSessions(ctx, u.ID, policy)
	if err != nil || len(live) != 0 {
		t.Errorf("LiveSessions after the absolute timeout = %d, %v; want none", len(live), err)
	}
}

func TestLiveSessionsAndRevoke(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	u := mustOwner(t, s)
	other := MustPerson(t, s, "other@example.com", true, nil)
	policy := models.SessionPolicy{Idle: 30 * time.Minute, Absolute: 12 * time.Hour}
	var tokens []string
	var ids []string
	for i := 0; i < 3; i++ {
		tok, sess, err := s.CreateSession(ctx, u.ID, "10.0.0.1", "agent", policy)
		if err != nil {
			t.Fatal(err)
		}
		tokens, ids = append(tokens, tok), append(ids, sess.ID)
	}
	_, otherSess, err := s.CreateSession(ctx, other.ID, "10.0.0.2", "agent", policy)
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.LiveSessions(ctx, u.ID, policy)
	if err != nil || len(live) != 3 {
		t.Fatalf("LiveSessions = %d, %v; want 3", len(live), err)
	}
	// Someone else's session cannot be revoked by handle.
	if _, err := s.RevokeSessionByHandle(ctx, models.ActorOf(u, "", "", ""), models.SessionHandle(otherSess.ID), ""); models.ErrorCode(err) != models.ENOTFOUND {
		t.Errorf("revoke another person's session: err = %v, want ENOTFOUND", err)
	}
	for _, bad := range []string{"", "%", ids[0][:8], strings.ToUpper(ids[0][:16])} {
		if _, err := s.RevokeSessionByHandle(ctx, models.ActorOf(u, "", "", ""), bad, ""); models.ErrorCode(err) != models.ENOTFOUND {
			t.Errorf("revoke by handle %q: err = %v, want ENOTFOUND", bad, err)
		}
	}
	id, err := s.RevokeSessionByHandle(ctx, models.ActorOf(u, "", "", ""), models.SessionHandle(ids[1]), "")
	if err != nil || id != ids[1] {
		t.Fatalf("revoke = %q, %v", id, err)
	}
	if _, _, err := s.LookupSession(ctx, tokens[1], policy); !errors.Is(err, models.ErrSessionEnded) {
		t.Errorf("revoked session still works: %v", err)
	}
	if n, err := s.RevokeOtherSessions(ctx, models.ActorOf(u, "", "", ""), ids[0]); err != nil || n != 1 {
		t.Errorf("RevokeOtherSessions = %d, %v; want 1", n, err)
	}
	if _, _, err := s.LookupSession(ctx, tokens[0], policy); err != nil {
		t.Errorf("the kept session ended: %v", err)
	}
	if _, _, err := s.LookupSession(ctx, tokens[2], policy); !errors.Is(err, models.ErrSessionEnded) {
		t.Errorf("another session survived RevokeOtherSessions: %v", err)
	}
}

// MustTOTP turns on two-factor sign-in for u and returns the secret and
// the recovery codes.
func MustTOTP(tb testing.TB, s *models.Store, u *models.User, now time.Time) (string, []string) {
	tb.Helper()
	setup, err := s.BeginTOTP(context.Background(), u.ID)
	if err != nil {
		tb.Fatal(err)
	}
	code, err := totp.GenerateCode(setup.Secret, now)
	if err != nil {
		tb.Fatal(err)
	}
	codes, _, err := s.ConfirmTOTP(context.Background(), models.ActorOf(u, "", "", ""), code, "")
	if err != nil {
		tb.Fatal(err)
	}
	return setup.Secret, codes
}

func TestTOTPEnableAndVerify(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	u := mustOwner(t, s)
	now := time.Now().UTC()
	s.SetClock(func() time.Time { return now })
	policy := models.LoginPolicy{Window: 15 * time.Minute, PerAccount: 100, PerIP: 100}

	setup, err := s.BeginTOTP(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(setup.URL, "otpauth://totp/ksherdash:") || !strings.Contains(setup.URL, "secret="+setup.Secret) {
		t.Errorf("URL = %q", setup.URL)
	}
	again, err := s.BeginTOTP(ctx, u.ID)
	if err != nil || again.Secret != setup.Secret {
		t.Errorf("a second BeginTOTP replaced the pending secret")
	}
	if pending, err := s.PendingTOTP(ctx, u.ID); err != nil || pending.Secret != setup.Secret {
		t.Errorf("PendingTOTP = %v, %v", pending, err)
	}
	// Pending is not on: a code does not pass a sign-in yet.
	code, _ := totp.GenerateCode(setup.Secret, now)
	if _, _, err := s.VerifySecondFactor(ctx, u.ID, code, "10.0.0.1", policy); err == nil {
		t.Errorf("a pending secret passed a sign-in")
	}
	if _, _, err := s.ConfirmTOTP(ctx, models.ActorOf(u, "", "", ""), "000000", ""); reasonOf(err, "code") != models.ReasonCodeWrong {
		t.Errorf("confirm with a wrong code: err = %v", err)
	}
	codes, _, err := s.ConfirmTOTP(ctx, models.ActorOf(u, "", "", ""), code, "")
	if err != nil || len(codes) != models.RecoveryCodeCount {
		t.Fatalf("confirm = %d codes, %v", len(codes), err)
	}
	if _, err := s.BeginTOTP(ctx, u.ID); models.ErrorCode(err) != models.ECONFLICT {
		t.Errorf("BeginTOTP when on: err = %v, want ECONFLICT", err)
	}

	// The code that confirmed cannot sign in (used), nor can it twice.
	if _, _, err := s.VerifySecondFactor(ctx, u.ID, code, "10.0.0.1", policy); reasonOf(err, "code") != models.ReasonCodeWrong {
		t.Errorf("replayed code: err = %v, want code_wrong", err)
	}
	next := now.Add(30 * time.Second)
	s.SetClock(func() time.Time { return next })
	code2, _ := totp.GenerateCode(setup.Secret, next)
	got, method, err := s.VerifySecondFactor(ctx, u.ID, code2[:3]+" "+code2[3:], "10.0.0.1", policy)
	if err != nil || got.ID != u.ID || method != models.MethodTOTP {
		t.Fatalf("next code: %v, %q, %v", got, method, err)
	}
	if _, _, err := s.VerifySecondFactor(ctx, u.ID, code2, "10.0.0.1", policy); err == nil {
		t.Errorf("a code was accepted twice")
	}
	// One step of clock drift either way is accepted; two are not.
	later := next.Add(5 * time.Minute)
	s.SetClock(func() time.Time { return later })
	for _, tt := range []struct {
		at time.Time
		ok bool
	}{{later.Add(-60 * time.Second), false}, {later.Add(30 * time.Second), true}, {later.Add(90 * time.Second), false}} {
		c, _ := totp.GenerateCode(setup.Secret, tt.at)
		_, _, err := s.VerifySecondFactor(ctx, u.ID, c, "10.0.0.1", policy)
		if (err == nil) != tt.ok {
			t.Errorf("code of %v from now: err = %v, want ok = %v", tt.at.Sub(later), err, tt.ok)
		}
	}

	// A recovery code works once, in any case and with or without its dash.
	rc := strings.ToUpper(strings.ReplaceAll(codes[3], "-", ""))
	if _, method, err := s.VerifySecondFactor(ctx, u.ID, rc, "10.0.0.1", policy); err != nil || method != models.MethodRecoveryCode {
		t.Errorf("recovery code: %q, %v", method, err)
	}
	if _, _, err := s.VerifySecondFactor(ctx, u.ID, codes[3], "10.0.0.1", policy); reasonOf(err, "code") != models.ReasonCodeWrong {
		t.Errorf("used recovery code: err = %v, want code_wrong", err)
	}
	if n, err := s.RecoveryCodesLeft(ctx, u.ID); err != nil || n != models.RecoveryCodeCount-1 {
		t.Errorf("RecoveryCodesLeft = %d, %v", n, err)
	}

	// The secret is sealed with SECRET_KEY: under another key it does not open.
	s.SetSecretKey([]byte("another secret key, at least 32 characters"))
	c, _ := totp.GenerateCode(setup.Secret, later.Add(60*time.Second))
	s.SetClock(func() time.Time { return later.Add(60 * time.Second) })
	if _, _, err := s.VerifySecondFactor(ctx, u.ID, c, "10.0.0.1", policy); err == nil {
		t.Errorf("the secret opened under another SECRET_KEY")
	}
}

func TestSecondFactorThrottled(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	u := mustOwner(t, s)
	now := time.Now().UTC()
	s.SetClock(func() time.Time { return now })
	secret, _ := MustTOTP(t, s, u, now)
	policy := models.LoginPolicy{Window: 15 * time.Minute, PerAccount: 3, PerIP: 100}
	for i := 0; i < 3; i++ {
		if _, _, err := s.VerifySecondFactor(ctx, u.ID, "123456", "10.0.0.1", policy); models.ErrorCode(err) != models.EINVALID {
			t.Fatalf("wrong code %d: err = %v", i, err)
		}
	}
	later := now.Add(30 * time.Second)
	s.SetClock(func() time.Time { return later })
	code, _ := totp.GenerateCode(secret, later)
	if _, _, err := s.VerifySecondFactor(ctx, u.ID, code, "10.0.0.1", policy); !models.IsThrottled(err) {
		t.Errorf("right code after 3 failures: err = %v, want throttled", err)
	}
	// The refusal did not use the code up: after the window it works.
	after := later.Add(15 * time.Minute)
	s.SetClock(func() time.Time { return after })
	code, _ = totp.GenerateCode(secret, after)
	if _, _, err := s.VerifySecondFactor(ctx, u.ID, code, "10.0.0.1", policy); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func TestDisableTOTP(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	u := mustOwner(t, s)
	now := time.Now().UTC()
	s.SetClock(func() time.Time { return now })
	secret, codes := MustTOTP(t, s, u, now)
	policy := models.DefaultLoginPolicy
	later := now.Add(30 * time.Second)
	s.SetClock(func() time.Time { return later })
	code, _ := totp.GenerateCode(secret, later)
	if _, err := s.DisableTOTP(ctx, models.ActorOf(u, "10.0.0.1", "", ""), "wrong password", code, "", policy); reasonOf(err, "password") != models.ReasonPasswordWrong {
		t.Errorf("wrong password: err = %v", err)
	}
	if _, err := s.DisableTOTP(ctx, models.ActorOf(u, "10.0.0.1", "", ""), "a long test password", "000000", "", policy); reasonOf(err, "code") != models.ReasonCodeWrong {
		t.Errorf("wrong code: err = %v", err)
	}
	if got, _ := s.FindUser(ctx, u.ID); got.TOTPEnabledAt == nil {
		t.Fatalf("refused attempts turned two-factor sign-in off")
	}
	// A recovery code stands in for a lost phone.
	if _, err := s.DisableTOTP(ctx, models.ActorOf(u, "10.0.0.1", "", ""), "a long test password", codes[0], "", policy); err != nil {
		t.Fatal(err)
	}
	got, _ := s.FindUser(ctx, u.ID)
	if got.TOTPEnabledAt != nil || got.TOTPSecret != nil {
		t.Errorf("still on after disabling: %+v", got)
	}
	if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 0 {
		t.Errorf("%d recovery codes left after disabling", n)
	}
	if _, _, err := s.VerifySecondFactor(ctx, u.ID, codes[1], "10.0.0.1", policy); err == nil {
		t.Errorf("a recovery code passed after two-factor sign-in was turned off")
	}
}

// Guesses sent all at once are throttled like guesses sent one by one: no
// more of them are checked than the policy allows, for passwords and for
// second-factor codes alike (a burst must not get past "count, then check,
// then record").
func TestConcurrentGuessesStayWithinThrottle(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	u := mustOwner(t, s)
	MustTOTP(t, s, u, time.Now().UTC())
	policy := models.LoginPolicy{Window: 15 * time.Minute, PerAccount: 3, PerIP: 1000}
	const burst = 40
	for _, tc := range []struct {
		name  string
		later time.Duration // each case on a clock of its own: the other's failures are outside its window
		guess func(i int) error
	}{
		{"password", time.Hour, func(i int) error {
			_, err := s.Authenticate(ctx, u.Email, "wrong password", "10.0.0."+strconv.Itoa(i), policy)
			return err
		}},
		{"second factor", 2 * time.Hour, func(i int) error {
			_, _, err := s.VerifySecondFactor(ctx, u.ID, "000000", "10.0.1."+strconv.Itoa(i), policy)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := time.Now().UTC().Add(tc.later)
			s.SetClock(func() time.Time { return at })
			start := make(chan struct{})
			errs := make(chan error, burst)
			var wg sync.WaitGroup
			for i := range burst {
				wg.Go(func() {
					<-start
					errs <- tc.guess(i)
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			checked := 0
			for err := range errs {
				switch {
				case models.IsThrottled(err):
				case models.ErrorCode(err) == models.EUNAUTHORIZED || models.ErrorCode(err) == models.EINVALID:
					checked++
				default:
					t.Fatalf("unexpected error: %v", err)
				}
			}
			if checked > policy.PerAccount {
				t.Errorf("%d of %d concurrent guesses were checked, want at most %d", checked, burst, policy.PerAccount)
			}
		})
	}
}
