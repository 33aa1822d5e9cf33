package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A broken page link of the event log is refused with a message in the
// reader's language. (The orders list instead shows its first page with a
// notice of its own.)
func TestBadPageLinkIsTranslated(t *testing.T) {
	e := newTestEnv(t)
	c := newClient(t, e.app)
	c.login("fin@example.com", testPassword)
	for _, tt := range []struct{ lang, want string }{
		{"en", "The page link is not valid; start from the first page."},
		{"th", "ลิงก์หน้านี้ไม่ถูกต้อง กรุณาเริ่มจากหน้าแรก"},
	} {
		for _, path := range []string{"/m/mch35000/events?after=not-a-cursor"} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Accept-Language", tt.lang)
			resp, body := c.do(req)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Errorf("%s %s = %d, want 400 saying %q:\n%s", tt.lang, path, resp.StatusCode, tt.want, body)
			}
		}
	}
}
