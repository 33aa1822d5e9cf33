package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ksherdash/ksherdash/gateway"
	"github.com/ksherdash/ksherdash/gateway/ksign"
)

// ErrGatewayConfig is wrapped by every error GatewayClients returns when an
// account's stored configuration cannot make a client (credentials that do
// not open or do not parse). Its text never holds a secret.
var ErrGatewayConfig = errors.New("gateway configuration")

// GatewayClients builds the Ksher clients of merchant accounts. It is the one
// place that turns an account row and its sealed credentials into a
// *gateway.Client. Clients are cached per account and rebuilt when the
// account changes (its updated_at moves), so a client, with its 10-second
// query guard, lives as long as its configuration. Safe for concurrent use.
type GatewayClients struct {
	src  *Store
	log  *slog.Logger
	opts []gateway.Option

	mu   sync.Mutex
	byID map[int64]clientEntry
}

type clientEntry struct {
	updatedAt time.Time
	client    *gateway.Client
}

// NewGatewayClients returns an empty cache. opts are added to every client (after
// the logger), e.g. gateway.WithHTTPClient.
func NewGatewayClients(src *Store, log *slog.Logger, opts ...gateway.Option) *GatewayClients {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &GatewayClients{src: src, log: log, opts: opts, byID: map[int64]clientEntry{}}
}

// For returns the client of account accountID and the account as stored
// now. Errors: ENOTFOUND for an unknown account; one wrapping
// ErrGatewayConfig when its configuration cannot make a client.
func (g *GatewayClients) For(ctx context.Context, accountID int64) (*gateway.Client, *MerchantAccount, error) {
	a, err := g.src.Account(ctx, accountID)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			g.forget(accountID)
		}
		return nil, nil, err
	}
	c, err := g.client(a)
	if err != nil {
		return nil, nil, err
	}
	return c, a, nil
}

// client returns the cached client of a, or builds one when a changed.
func (g *GatewayClients) client(a *MerchantAccount) (*gateway.Client, error) {
	g.mu.Lock()
	e, ok := g.byID[a.ID]
	g.mu.Unlock()
	if ok && e.updatedAt.Equal(a.UpdatedAt) {
		return e.client, nil
	}
	creds, err := g.src.AccountCredentials(a)
	if err != nil {
		return nil, fmt.Errorf("gateway clients: account %d: %w: stored credentials do not open", a.ID, ErrGatewayConfig)
	}
	cfg, err := gatewayConfig(a, creds)
	if err != nil {
		return nil, err
	}
	opts := append([]gateway.Option{gateway.WithLogger(g.log)}, g.opts...)
	c, err := gateway.New(cfg, opts...)
	if err != nil {
		// gateway.New's errors name fields and mids, never key material.
		return nil, fmt.Errorf("gateway clients: account %d: %w: %s", a.ID, ErrGatewayConfig, err.Error())
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	// Keep the newest: a slow builder for an older row must not win. Two
	// builders of the same row share the first one's client (and its
	// in-process 10-second guard).
	if cur, ok := g.byID[a.ID]; ok && !cur.updatedAt.Before(a.UpdatedAt) {
		if cur.updatedAt.Equal(a.UpdatedAt) {
			return cur.client, nil
		}
		return c, nil
	}
	g.byID[a.ID] = clientEntry{updatedAt: a.UpdatedAt, client: c}
	return c, nil
}

func (g *GatewayClients) forget(id int64) {
	g.mu.Lock()
	delete(g.byID, id)
	g.mu.Unlock()
}

// gatewayConfig maps an account and its opened credentials to the gateway
// client's configuration: v3 keys per mid (the mid is the appid) and the
// optional Ksher public key, or the vip token with the account's mids.
// Errors wrap ErrGatewayConfig and never hold key material.
func gatewayConfig(a *MerchantAccount, creds *Credentials) (gateway.Config, error) {
	cfg := gateway.Config{
		Kind:           gateway.APIKind(a.APIKind),
		Account:        strconv.FormatInt(a.ID, 10),
		BaseURL:        a.BaseURL,
		GatewayBaseURL: a.GatewayBaseURL,
	}
	switch a.APIKind {
	case APIv3:
		cfg.Credentials = map[string]gateway.Credentials{}
		for _, m := range a.Mids {
			pemText, ok := creds.PrivateKeys[m.Mid]
			if !ok {
				return cfg, fmt.Errorf("gateway clients: account %d: %w: no private key for mid %s", a.ID, ErrGatewayConfig, m.Mid)
			}
			key, err := ksign.ParsePrivateKey([]byte(pemText))
			if err != nil {
				return cfg, fmt.Errorf("gateway clients: account %d: %w: the private key of mid %s does not parse", a.ID, ErrGatewayConfig, m.Mid)
			}
			cfg.Credentials[m.Mid] = gateway.Credentials{AppID: m.Mid, PrivateKey: key}
		}
		if creds.KsherPublicKey != "" {
			pub, err := ksign.ParsePublicKey([]byte(creds.KsherPublicKey))
			if err != nil {
				return cfg, fmt.Errorf("gateway clients: account %d: %w: the Ksher public key does not parse", a.ID, ErrGatewayConfig)
			}
			cfg.KsherPublicKey = pub
		}
	case APIVIP:
		cfg.Token = creds.Token
		for _, m := range a.Mids {
			cfg.Mids = append(cfg.Mids, m.Mid)
		}
	default:
		return cfg, fmt.Errorf("gateway clients: account %d: %w: unknown API kind %q", a.ID, ErrGatewayConfig, a.APIKind)
	}
	return cfg, nil
}
