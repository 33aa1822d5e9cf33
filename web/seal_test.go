package web

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ksherdash/ksherdash/models"
)

// Secrets at rest: a merchant's token is stored sealed (its bytes, in any
// usual spelling, are not in the row); the sealed value opens only under
// the SECRET_KEY it was sealed with and only in its own row (copied to
// another account it does not open, and that account's page says its
// credentials cannot be read instead of failing).
func TestCredentialsAreSealedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newTestEnv(t)
	const token = "tok-SEALED-AT-REST-4e1b7c"
	a := mustAccount(t, e.store, "Sealed", "mch47000")
	if _, err := e.store.SaveAccount(ctx, models.SandboxSetup(), a.ID, models.AccountInput{Name: a.Name, APIKind: a.APIKind,
		BaseURL: a.BaseURL, Sandbox: true, Mids: []models.Mid{{Mid: "mch47000"}}, Credentials: &models.Credentials{Token: token}}); err != nil {
		t.Fatal(err)
	}
	other := mustAccount(t, e.store, "Other", "mch47001")
	conn, err := pgx.Connect(ctx, e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	var sealed []byte
	if err := conn.QueryRow(ctx, "SELECT credentials FROM merchant_accounts WHERE id = $1", a.ID).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	var row string
	if err := conn.QueryRow(ctx, "SELECT m::text FROM merchant_accounts m WHERE id = $1", a.ID).Scan(&row); err != nil {
		t.Fatal(err)
	}
	if len(sealed) < len(token) || bytes.Contains(sealed, []byte(token)) || strings.Contains(row, token) ||
		strings.Contains(row, "746f6b2d5345414c4544") { // the token's first bytes in hex, as bytea prints
		t.Fatalf("the token is stored in the clear (%d sealed bytes)", len(sealed))
	}

	// It opens with this SECRET_KEY, in its own row.
	if c := mustCredentials(t, e.store, accountByName(t, e.store, "Sealed")); c.Token != token {
		t.Fatalf("opened token = %q", c.Token)
	}
	// Not under another key.
	e.store.SetSecretKey([]byte(strings.Repeat("z", 32)))
	if _, err := e.store.AccountCredentials(accountByName(t, e.store, "Sealed")); err == nil {
		t.Error("the credentials opened under another SECRET_KEY")
	}
	e.store.SetSecretKey([]byte(strings.Repeat("x", 32)))
	// Not in another row.
	if _, err := conn.Exec(ctx, "UPDATE merchant_accounts SET credentials = $1 WHERE id = $2", sealed, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.AccountCredentials(accountByName(t, e.store, "Other")); err == nil {
		t.Error("sealed credentials copied to another account opened there")
	}
	owner := MustOwner(t, e)
	resp, body := owner.get("/accounts/" + strconv.FormatInt(other.ID, 10))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="credentials-unreadable"`) || strings.Contains(body, token) {
		t.Errorf("the account with foreign credentials = %d; says unreadable: %v", resp.StatusCode, strings.Contains(body, `data-testid="credentials-unreadable"`))
	}
}
