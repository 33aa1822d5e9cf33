package models

import (
	"strings"
	"unicode/utf8"
)

// Storable makes bytes from outside (a notification, what a person typed,
// a browser's User-Agent) fit a text column: valid UTF-8, no NUL, at most
// max bytes (cut on a character boundary). Everything recorded from outside
// goes through it, so a record can always be written.
func Storable(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	out := strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "\uFFFD")
	for len(out) > max {
		_, size := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-size]
	}
	return out
}
