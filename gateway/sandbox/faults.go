package sandbox

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Fault kinds accepted by AddFault and /_sandbox/faults.
const (
	// FaultLatency delays the answer by LatencyMS, then answers normally.
	FaultLatency = "latency"
	// Fault5xx answers with an nginx-style HTML error page, status Status
	// (default 502).
	Fault5xx = "5xx"
	// FaultTimeout holds the request until the client gives up (or
	// LatencyMS, default 60 s) and closes the connection without answering.
	FaultTimeout = "timeout"
	// FaultMalformed answers HTTP 200 with the first half of the real JSON
	// body (the operation is carried out).
	FaultMalformed = "malformed"
	// FaultBadSignature answers normally but with one hex digit of the
	// response signature changed (the operation is carried out).
	FaultBadSignature = "bad_signature"
	// FaultRateLimit answers the API's rate-limit error: v3 data.err_code
	// KSHER_API_ERR_ORDER_TOO_MANY_REQUESTS, vip HTTP 429.
	FaultRateLimit = "rate_limit"
	// FaultReset resets the connection (TCP RST) as soon as the request is
	// read, without a byte of answer: a proxy or load balancer dropping the
	// call. With Processed the operation is carried out first.
	FaultReset = "reset"
)

var faultKinds = []string{FaultLatency, Fault5xx, FaultTimeout, FaultMalformed, FaultBadSignature, FaultRateLimit, FaultReset}

// Fault is one injected failure. Op names an operation as counted by
// Calls ("order_query", "vip.redirect.query", ...), "*" for every API
// operation, or a prefix ending in "*" ("vip.*"). A fault applies to the
// next Next matching calls, or, when Next is 0, to every call until cleared;
// Percent (1-99) makes it apply to that share of calls at random.
type Fault struct {
	ID        int     `json:"id"`
	Op        string  `json:"op"`
	Kind      string  `json:"kind"`
	LatencyMS int     `json:"latency_ms,omitempty"`
	Status    int     `json:"status,omitempty"`
	Next      int     `json:"next,omitempty"`
	Percent   float64 `json:"percent,omitempty"`
	// Processed makes timeout, 5xx and reset faults carry out the operation
	// before failing, so the client loses the answer of a call that did
	// happen (malformed and bad_signature always carry it out).
	Processed bool `json:"processed,omitempty"`
	// Hits counts how many calls the fault has affected.
	Hits int `json:"hits"`
}

func (f *Fault) validate() error {
	if !slices.Contains(faultKinds, f.Kind) {
		return fmt.Errorf("kind must be one of %s", strings.Join(faultKinds, ", "))
	}
	if f.Op == "" {
		f.Op = "*"
	}
	if f.LatencyMS < 0 || f.Next < 0 || f.Percent < 0 || f.Percent > 100 {
		return fmt.Errorf("latency_ms, next and percent must be positive (percent at most 100)")
	}
	if f.Kind == FaultLatency && f.LatencyMS == 0 {
		return fmt.Errorf("latency needs latency_ms")
	}
	return nil
}

func (f *Fault) matches(op string) bool {
	if f.Op == "*" || f.Op == op {
		return true
	}
	p, ok := strings.CutSuffix(f.Op, "*")
	return ok && strings.HasPrefix(op, p)
}

type faultSet struct {
	mu     sync.Mutex
	list   []*Fault
	nextID int
	rng    *rand.Rand
}

func newFaultSet() *faultSet {
	return &faultSet{rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

// take returns a copy of the first fault that applies to this call of op,
// consuming one of its Next calls.
func (fs *faultSet) take(op string) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.list {
		if !f.matches(op) {
			continue
		}
		if f.Percent > 0 && f.Percent < 100 && fs.rng.Float64()*100 >= f.Percent {
			continue
		}
		f.Hits++
		c := *f
		if f.Next > 0 {
			f.Next--
			if f.Next == 0 {
				fs.list = slices.Delete(fs.list, i, i+1)
			}
		}
		return &c
	}
	return nil
}

func (fs *faultSet) add(f Fault) (Fault, error) {
	if err := f.validate(); err != nil {
		return Fault{}, err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.nextID++
	f.ID = fs.nextID
	f.Hits = 0
	fs.list = append(fs.list, &f)
	return f, nil
}

func (fs *faultSet) snapshot() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]Fault, 0, len(fs.list))
	for _, f := range fs.list {
		out = append(out, *f)
	}
	return out
}

// clear removes faults: all when op and id are empty/zero.
func (fs *faultSet) clear(op string, id int) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = slices.DeleteFunc(fs.list, func(f *Fault) bool {
		return (op == "" && id == 0) || (op != "" && f.Op == op) || (id != 0 && f.ID == id)
	})
}

// AddFault plans a fault (see Fault) and returns it with its ID.
func (s *Sandbox) AddFault(f Fault) (Fault, error) {
	return s.faults.add(f)
}

// Faults lists the planned faults.
func (s *Sandbox) Faults() []Fault { return s.faults.snapshot() }

// ClearFaults removes every planned fault.
func (s *Sandbox) ClearFaults() { s.faults.clear("", 0) }

// resetConn answers a reset fault: the connection is taken from the server
// and closed with SO_LINGER 0, so the kernel sends RST instead of FIN and
// the client reads "connection reset by peer", never a response. Behind a
// server that cannot hand the connection over (fasthttp through Fiber's
// adaptor) the handler aborts instead, which closes it without an answer.
func resetConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, _, err := hj.Hijack(); err == nil {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection quietly
}
