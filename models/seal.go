package models

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// SetSecretKey derives the key that seals stored credentials (AES-256-GCM)
// from the application's SECRET_KEY. Without it, credentials cannot be
// stored or read.
func (s *Store) SetSecretKey(secret []byte) {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("ksherdash/credentials"))
	s.sealKey = mac.Sum(nil)
}

var errNoSealKey = errors.New("store: no secret key to seal credentials")

// seal encrypts plain with a random nonce; ad binds the ciphertext to its
// row (a sealed value copied to another account does not open).
func (s *Store) seal(plain, ad []byte) ([]byte, error) {
	if s.sealKey == nil {
		return nil, errNoSealKey
	}
	block, err := aes.NewCipher(s.sealKey)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, plain, ad), nil
}

func (s *Store) open(sealed, ad []byte) ([]byte, error) {
	if s.sealKey == nil {
		return nil, errNoSealKey
	}
	block, err := aes.NewCipher(s.sealKey)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.NonceSize() {
		return nil, errors.New("store: sealed value too short")
	}
	plain, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], ad)
	if err != nil {
		return nil, errors.New("store: cannot open sealed credentials (was SECRET_KEY changed?)")
	}
	return plain, nil
}
