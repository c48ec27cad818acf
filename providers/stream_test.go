package providers

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"
)

// sseStep is one scripted action of a streaming fake.
type sseStep struct {
	raw  string // bytes to write, then flush
	gate bool   // wait until the test calls release (or the client leaves)
	hang bool   // stall: send nothing until the client goes away
	cut  bool   // drop the connection without ending the response
	// sleep pauses before the step's bytes (a slow token, not a stall).
	sleep time.Duration
}

// sseScript is a whole scripted answer: a status (non-2xx answers write body
// and stop) and, for 200, the event steps. A handler that returns normally
// ends the chunked body cleanly, which is what "EOF" means to a client.
type sseScript struct {
	status int
	header map[string]string
	body   string
	steps  []sseStep
}

// sseFake is an httptest upstream that streams scripted server-sent events,
// flushing per step, and records requests and whether the client went away.
type sseFake struct {
	*httptest.Server
	mu      sync.Mutex
	scripts []sseScript
	reqs    []seen
	gone    chan struct{} // closed when a request's context ends mid-script
	goneOne sync.Once
	gateCh  chan struct{}
	conns   atomic.Int32 // TCP connections accepted
}

func newSSEFake(t testing.TB, scripts ...sseScript) *sseFake {
	t.Helper()
	f := &sseFake{scripts: scripts, gone: make(chan struct{}), gateCh: make(chan struct{}, 16)}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.Start()
	t.Cleanup(f.Close)
	return f
}

// release lets one gated step proceed.
func (f *sseFake) release() { f.gateCh <- struct{}{} }

func (f *sseFake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	sc := sseScript{status: http.StatusOK}
	if len(f.scripts) > 0 {
		sc = f.scripts[min(len(f.reqs), len(f.scripts))-1]
	}
	f.mu.Unlock()
	for k, v := range sc.header {
		w.Header().Set(k, v)
	}
	if sc.status == 0 {
		sc.status = http.StatusOK
	}
	if sc.status != http.StatusOK {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(sc.status)
		io.WriteString(w, sc.body)
		return
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/event-stream")
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	for _, st := range sc.steps {
		if st.sleep > 0 {
			select {
			case <-time.After(st.sleep):
			case <-r.Context().Done():
				f.markGone()
				return
			}
		}
		switch {
		case st.cut:
			panic(http.ErrAbortHandler) // closes the connection mid-body
		case st.hang:
			f.waitGone(r, 10*time.Second)
			return
		case st.gate:
			select {
			case <-f.gateCh:
			case <-r.Context().Done():
				f.markGone()
				return
			case <-time.After(10 * time.Second):
				return
			}
		default:
			if _, err := io.WriteString(w, st.raw); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}
}

func (f *sseFake) waitGone(r *http.Request, limit time.Duration) {
	select {
	case <-r.Context().Done():
		f.markGone()
	case <-time.After(limit):
	}
}

func (f *sseFake) markGone() { f.goneOne.Do(func() { close(f.gone) }) }

func (f *sseFake) last(t testing.TB) seen {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("fake upstream received no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func (f *sseFake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// raw, gate, hang and cut build steps tersely.
func raw(s ...string) sseStep { return sseStep{raw: strings.Join(s, "")} }

var (
	gate = sseStep{gate: true}
	hang = sseStep{hang: true}
	cut  = sseStep{cut: true}
)

// drain reads s to its end, returning the chunks and the final error.
func drain(t testing.TB, s Stream) ([]Chunk, error) {
	t.Helper()
	var out []Chunk
	for range 1000 {
		ch, err := s.Next()
		if err != nil {
			return out, err
		}
		out = append(out, ch)
	}
	t.Fatal("stream never ended")
	return nil, nil
}

func TestSSEReader(t *testing.T) {
	type ev struct {
		event, data string
		bare        bool
	}
	tests := []struct {
		name    string
		in      string
		want    []ev
		wantErr error
	}{
		{"LF", "data: a\n\ndata: b\n\n", []ev{{"", "a", false}, {"", "b", false}}, io.EOF},
		{"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", []ev{{"", "a", false}, {"", "b", false}}, io.EOF},
		{"no space after colon", "data:a\n\n", []ev{{"", "a", false}}, io.EOF},
		{"only one space stripped", "data:  a\n\n", []ev{{"", " a", false}}, io.EOF},
		{"comments ignored", ": OPENROUTER PROCESSING\n\n:\ndata: a\n: mid\n\n", []ev{{"", "a", false}}, io.EOF},
		{"multi-line data", "data: a\ndata: b\n\n", []ev{{"", "a\nb", false}}, io.EOF},
		{"named event", "event: message_stop\ndata: {}\n\n", []ev{{"message_stop", "{}", false}}, io.EOF},
		{"event name resets", "event: x\n\ndata: a\n\n", []ev{{"", "a", false}}, io.EOF},
		{"id retry unknown ignored", "id: 1\nretry: 5\nfoo: bar\ndata: a\n\n", []ev{{"", "a", false}}, io.EOF},
		{"bare JSON line", "data: a\r\n\r\n{\"error\":{\"code\":500}}\r\n", []ev{{"", "a", false}, {"", `{"error":{"code":500}}`, true}}, io.EOF},
		{"last event without blank line", "data: a\n", []ev{{"", "a", false}}, io.EOF},
		{"cut mid-line", "data: a\n\ndata: {\"x", []ev{{"", "a", false}}, io.ErrUnexpectedEOF},
		{"empty input", "", nil, io.EOF},
		{"event too large", "data: " + strings.Repeat("x", 100) + "\n\n", nil, errEventTooLarge},
		{"too large across lines", strings.Repeat("data: "+strings.Repeat("x", 30)+"\n", 4) + "\n", nil, errEventTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte per read exercises every line split.
			r := newSSEReader(iotest.OneByteReader(strings.NewReader(tt.in)), 64)
			var got []ev
			var err error
			for {
				var e sseEvent
				e, err = r.next()
				if err != nil {
					break
				}
				got = append(got, ev{e.Event, string(e.Data), e.Bare})
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("events = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestSSEReaderLongLine(t *testing.T) {
	// Longer than the bufio buffer but inside the cap: reassembled whole.
	long := strings.Repeat("y", 20<<10)
	r := newSSEReader(strings.NewReader("data: "+long+"\r\n\r\n"), 64<<10)
	e, err := r.next()
	if err != nil || string(e.Data) != long {
		t.Fatalf("got %d bytes, %v", len(e.Data), err)
	}
	r = newSSEReader(strings.NewReader("data: "+long+"\n\n"), 16<<10)
	if _, err := r.next(); !errors.Is(err, errEventTooLarge) {
		t.Fatalf("err = %v, want too large", err)
	}
}

func TestReplayStream(t *testing.T) {
	s := &replayStream{resp: &Response{Text: "hi", FinishReason: "stop", Model: "m", Usage: Usage{1, 2, 3, true}}}
	chunks, err := drain(t, s)
	if !errors.Is(err, io.EOF) || len(chunks) != 1 {
		t.Fatalf("chunks %+v, err %v", chunks, err)
	}
	c := chunks[0]
	if c.Text != "hi" || c.FinishReason != "stop" || c.Model != "m" || c.Usage == nil || c.Usage.TotalTokens != 3 {
		t.Errorf("chunk = %+v", c)
	}
	s = &replayStream{resp: &Response{Text: "hi"}}
	if c, _ := s.Next(); c.Usage != nil {
		t.Error("unreported usage must stay nil")
	}
	s.Close()
	s.Close()
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after Close: %v", err)
	}
}

// The stall watchdog counts any bytes as life; this is where they are seen.
func TestActivityReaderStamps(t *testing.T) {
	c := &sseConn{}
	a := activityReader{r: bytes.NewReader([]byte("abc")), last: &c.lastRead}
	if !c.lastActivity().Equal(time.Unix(0, 0)) {
		t.Fatal("fresh conn has activity")
	}
	before := time.Now()
	buf := make([]byte, 2)
	if n, _ := a.Read(buf); n != 2 {
		t.Fatal("short read")
	}
	if c.lastActivity().Before(before) {
		t.Error("read did not stamp activity")
	}
}
