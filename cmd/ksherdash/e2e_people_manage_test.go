package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"
	"github.com/pquerna/otp/totp"

	"github.com/ksherdash/ksherdash/models"
)

// A manager sees a peer manager read-only (no edit, disable or reset
// buttons); the owner resets a support person's two-factor sign-in, which
// signs that person out, and they sign in again with the password alone.
func TestE2EOwnerResetsTwoFactor(t *testing.T) {
	ctx := context.Background()
	app, dsn := peopleAppDSN(t, "mch73001")
	store, err := models.Open(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	store.SetSecretKey([]byte(peopleSecretKey))
	const mgrPW, supPW = "manager password 123", "support password 123"
	users := map[string]*models.User{}
	for _, n := range []models.NewUser{
		{Email: "mgr@example.com", Password: mgrPW, Role: models.RoleManager, Mids: []string{"mch73001"}},
		{Email: "peer@example.com", Password: mgrPW, Role: models.RoleManager, Mids: []string{"mch73001"}},
		{Email: "sup@example.com", Password: supPW, Role: models.RoleSupport, Mids: []string{"mch73001"}},
	} {
		u, err := store.CreateUser(ctx, models.CommandLine(), n)
		if err != nil {
			t.Fatal(err)
		}
		users[n.Email] = u
	}
	sup := users["sup@example.com"]
	setup, err := store.BeginTOTP(ctx, sup.ID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	code, _ := totp.GenerateCode(setup.Secret, now)
	if _, _, err := store.ConfirmTOTP(ctx, models.ActorOf(sup, "", "", ""), code, ""); err != nil {
		t.Fatal(err)
	}

	// The support person signs in with a code (the next one: the first is spent).
	sp := newPage(t)
	login(t, sp, app.URL, "sup@example.com", supPW)
	code, _ = totp.GenerateCode(setup.Secret, now.Add(30*time.Second))
	must(t, sp.GetByTestId("login-code").Fill(code))
	must(t, sp.GetByTestId("login-code-submit").Click())
	expectVisible(t, sp.GetByTestId("dashboard-title"))

	// The manager: a peer manager is shown read-only.
	mp := newPage(t)
	login(t, mp, app.URL, "mgr@example.com", mgrPW)
	expectVisible(t, mp.GetByTestId("dashboard-title"))
	if st := gotoStatus(t, mp, app.URL+"/people/"+strconv.FormatInt(users["peer@example.com"].ID, 10)); st != 200 {
		t.Fatalf("peer's page = %d", st)
	}
	expectVisible(t, mp.GetByTestId("person-readonly"))
	for _, hidden := range []string{"person-submit", "person-disable", "person-reset", "person-totp-reset"} {
		if n, err := mp.GetByTestId(hidden).Count(); err != nil || n != 0 {
			t.Errorf("manager sees %s on a peer's page (%d, %v)", hidden, n, err)
		}
	}
	shoot(t, mp, "people-peer-readonly")

	// The owner resets the support person's two-factor sign-in.
	page := newPage(t)
	peopleSignIn(t, page, app, "owner@example.com", app.Password, "owner password 123")
	if st := gotoStatus(t, page, app.URL+"/people/"+strconv.FormatInt(sup.ID, 10)); st != 200 {
		t.Fatalf("support's page = %d", st)
	}
	shoot(t, page, "people-2fa-reset")
	confirmed := make(chan string, 1)
	page.OnDialog(func(d playwright.Dialog) {
		confirmed <- d.Message()
		_ = d.Accept()
	})
	must(t, page.GetByTestId("person-totp-reset").Click())
	expectVisible(t, page.GetByTestId("flash-info"))
	select {
	case msg := <-confirmed:
		if msg == "" {
			t.Errorf("empty confirmation")
		}
	default:
		t.Errorf("the reset was not confirmed first")
	}
	if n, err := page.GetByTestId("person-totp-reset").Count(); err != nil || n != 0 {
		t.Errorf("the reset is still offered after it (%d, %v)", n, err)
	}

	// The support person is signed out, then signs in with the password alone.
	if _, err := sp.Goto(app.URL + "/m/mch73001"); err != nil {
		t.Fatal(err)
	}
	expectURL(t, sp, `/login\?next=`)
	login(t, sp, app.URL, "sup@example.com", supPW)
	expectVisible(t, sp.GetByTestId("dashboard-title"))
}
