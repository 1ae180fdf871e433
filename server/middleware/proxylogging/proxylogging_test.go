package proxylogging_test

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"

	"swiftbox/config"
	"swiftbox/server/metrics"
	"swiftbox/server/middleware/proxylogging"
	"swiftbox/server/proxy"
	"swiftbox/server/servertest"
)

// loggedCluster starts a cluster whose requests are logged into m and
// an access log file, whose contents the returned func reads (the login
// of servertest.Start included).
func loggedCluster(t *testing.T, m *metrics.Metrics, headers bool) (*servertest.Cluster, func() string) {
	path := filepath.Join(t.TempDir(), "access.log")
	al, err := proxylogging.OpenAccessLog(path)
	if err != nil {
		t.Fatal(err)
	}
	al.Headers = headers
	t.Cleanup(func() { al.Close() })
	c := servertest.Start(t, servertest.Options{Metrics: m, Logging: &proxylogging.Logging{Metrics: m.HTTP, Access: al}})
	return c, func() string {
		al.Flush()
		b, _ := os.ReadFile(path)
		return string(b)
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// metricValue sums the samples of family name whose labels include want.
func metricValue(t *testing.T, m *metrics.Metrics, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range s.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue next
				}
			}
			sum += sampleValue(f.GetType(), s)
		}
	}
	return sum
}

func sampleValue(typ dto.MetricType, s *dto.Metric) float64 {
	switch typ {
	case dto.MetricType_COUNTER:
		return s.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return s.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM:
		return float64(s.GetHistogram().GetSampleCount())
	}
	return 0
}

// waitMetric waits until the metric reaches want (streamed responses are
// recorded when fasthttp closes the body stream, just after the client
// got the last byte), then checks it is exactly want.
func waitMetric(t *testing.T, m *metrics.Metrics, name string, labels map[string]string, want float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for metricValue(t, m, name, labels) < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := metricValue(t, m, name, labels); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// A known load moves the request counters, histograms and byte counters
// by exactly its counts, streamed and chunked bodies included.
func TestProxyLoggingMetrics(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Options{})
	c, _ := loggedCluster(t, m, false)

	c.Must(201, "PUT", "/v1/AUTH_test/m", "")
	sizes := []int{0, 1000, 70000, 3 << 20}
	var total int
	for i, n := range sizes {
		c.Must(201, "PUT", "/v1/AUTH_test/m/o"+strconv.Itoa(i), strings.Repeat("x", n))
		total += n
	}
	// A chunked upload: no Content-Length, so the bytes are counted as read.
	req, _ := http.NewRequest("PUT", c.URL+"/v1/AUTH_test/m/chunked", io.MultiReader(strings.NewReader(strings.Repeat("y", 5000))))
	req.Header.Set("X-Auth-Token", c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("chunked PUT: %v %v", err, resp)
	}
	resp.Body.Close()
	total += 5000
	for i := range sizes {
		c.Must(200, "GET", "/v1/AUTH_test/m/o"+strconv.Itoa(i), "")
	}
	c.Must(206, "GET", "/v1/AUTH_test/m/o2", "", "Range: bytes=10-19")
	c.Must(200, "HEAD", "/v1/AUTH_test/m/o1", "")
	c.Must(404, "GET", "/v1/AUTH_test/m/missing", "")
	_, listing := c.Must(200, "GET", "/v1/AUTH_test/m", "")
	c.Must(204, "HEAD", "/v1/AUTH_test", "")
	c.Must(200, "GET", "/v1/AUTH_test/m/o1", "", "Authorization: AWS abc:def")
	// Refused before the body is sent: fasthttp answers without the handler.
	tooBig, _ := http.NewRequest("PUT", c.URL+"/v1/AUTH_test/m/big", strings.NewReader("x"))
	tooBig.ContentLength = config.Default().Constraints.MaxFileSize + 1
	tooBig.Header.Set("Expect", "100-continue")
	tooBig.Header.Set("X-Auth-Token", c.Token)
	if resp, err := http.DefaultClient.Do(tooBig); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Errorf("oversized PUT: %d", resp.StatusCode)
		}
	}

	req2xx := func(method, policy string) map[string]string {
		return map[string]string{"api": "swift", "method": method, "policy": policy, "status_class": "2xx"}
	}
	waitMetric(t, m, "swiftbox_http_requests_total", req2xx("PUT", "0"), 1+float64(len(sizes))+1)
	waitMetric(t, m, "swiftbox_http_requests_total", req2xx("GET", "0"), float64(len(sizes))+2)
	waitMetric(t, m, "swiftbox_http_requests_total", req2xx("HEAD", "0"), 1)
	waitMetric(t, m, "swiftbox_http_requests_total", req2xx("HEAD", ""), 1)
	waitMetric(t, m, "swiftbox_http_requests_total", map[string]string{"method": "GET", "status_class": "4xx"}, 1)
	waitMetric(t, m, "swiftbox_http_requests_total", map[string]string{"api": "s3"}, 1)
	waitMetric(t, m, "swiftbox_http_requests_total", map[string]string{"method": "PUT", "status_class": "4xx"}, 1)
	// The login of servertest.Start and the 413 included.
	waitMetric(t, m, "swiftbox_http_request_duration_seconds", map[string]string{"api": "swift"}, float64(1+1+len(sizes)+1+len(sizes)+1+1+1+1+1+1))
	waitMetric(t, m, "swiftbox_http_request_body_bytes_total", map[string]string{"method": "PUT"}, float64(total))
	waitMetric(t, m, "swiftbox_http_response_body_bytes_total", map[string]string{"api": "swift", "method": "GET", "policy": "0"},
		float64(total-5000+10+len(listing)+len("<html><h1>Not Found</h1><p>The resource could not be found.</p></html>")))
	waitMetric(t, m, "swiftbox_http_requests_in_flight", nil, 0)
	// Every request the handler saw but the first login carried the
	// token: each was one valid validation (the 413 was refused before
	// the handler).
	if v, n := metricValue(t, m, "swiftbox_auth_token_validations_total", map[string]string{"system": "tempauth", "result": "valid"}),
		metricValue(t, m, "swiftbox_http_requests_total", nil)-2; v != n {
		t.Errorf("%v valid token validations for %v requests", v, n)
	}
	c.Login("test:tester", "testing")
	if resp, _ := c.Do("GET", "/auth/v1.0", "", "X-Auth-User: test:tester", "X-Auth-Key: wrong", "X-Auth-Token: "); resp.StatusCode != 401 {
		t.Errorf("bad login: %d", resp.StatusCode)
	}
	c.Do("HEAD", "/v1/AUTH_test", "", "X-Auth-Token: AUTH_tkbogus")
	for labels, want := range map[[2]string]float64{{"logins_total", "success"}: 2, {"logins_total", "failure"}: 1, {"token_validations_total", "invalid"}: 1} {
		if got := metricValue(t, m, "swiftbox_auth_"+labels[0], map[string]string{"result": labels[1]}); got != want {
			t.Errorf("swiftbox_auth_%s{result=%s} = %v, want %v", labels[0], labels[1], got, want)
		}
	}
}

// Access log lines carry Swift's proxy-logging fields in Swift's order.
func TestAccessLogLines(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Options{})
	c, logged := loggedCluster(t, m, true)
	c.Must(201, "PUT", "/v1/AUTH_test/logs", "")
	body := strings.Repeat("z", 12345)
	putResp, _ := c.Must(201, "PUT", "/v1/AUTH_test/logs/a%20b?note=put&x=1", body,
		"User-Agent: test agent/1.0", "Referer: http://example.com/x", "X-Forwarded-For: 10.1.2.3, 10.0.0.1", "Etag: "+md5hex(body))
	getResp, _ := c.Must(200, "GET", "/v1/AUTH_test/logs/a%20b", "")
	c.Must(204, "HEAD", "/v1/AUTH_test", "")
	waitMetric(t, m, "swiftbox_http_requests_total", nil, 5)
	raw := logged()
	lines := strings.Split(strings.TrimSpace(raw), "\n")
	if len(lines) != 5 { // the login of servertest.Start first
		t.Fatalf("want 5 access log lines, got %d:\n%s", len(lines), raw)
	}
	lines = lines[1:]
	names := []string{"client_ip", "remote_addr", "datetime", "method", "path", "protocol", "status_int",
		"referer", "user_agent", "auth_token", "bytes_recvd", "bytes_sent", "client_etag", "transaction_id",
		"headers", "request_time", "source", "log_info", "start_time", "end_time", "policy_index"}
	parse := func(line string) map[string]string {
		f := strings.Split(line, " ")
		if len(f) != len(names) {
			t.Fatalf("%d fields, want %d: %s", len(f), len(names), line)
		}
		out := map[string]string{}
		for i, n := range names {
			out[n] = f[i]
		}
		return out
	}
	put := parse(lines[1])
	tok := c.Token[:16] + "..."
	want := map[string]string{
		"client_ip": "10.1.2.3", "remote_addr": "127.0.0.1", "method": "PUT",
		"path": "/v1/AUTH_test/logs/a%2520b%3Fnote%3Dput%26x%3D1", "protocol": "HTTP/1.1",
		"status_int": "201", "referer": "http://example.com/x", "user_agent": "test%20agent/1.0",
		"auth_token": tok, "bytes_recvd": "12345", "bytes_sent": "-", "client_etag": md5hex(body),
		"transaction_id": putResp.Header.Get("X-Trans-Id"), "source": "-", "log_info": "-", "policy_index": "0",
	}
	for k, v := range want {
		if put[k] != v {
			t.Errorf("PUT %s = %q, want %q", k, put[k], v)
		}
	}
	if !strings.Contains(put["headers"], "X-Auth-Token:%20"+tok) || !strings.Contains(put["headers"], "%0A") {
		t.Errorf("headers field %q: want every header, token obscured, lines quoted", put["headers"])
	}
	start, _ := strconv.ParseFloat(put["start_time"], 64)
	end, _ := strconv.ParseFloat(put["end_time"], 64)
	dur, _ := strconv.ParseFloat(put["request_time"], 64)
	if start <= 0 || end < start || dur < 0 || dur > end-start+0.001 || time.Since(time.Unix(int64(end), 0)) > time.Minute {
		t.Errorf("times: start %v end %v request_time %v", start, end, dur)
	}
	if dt, err := time.Parse("02/Jan/2006/15/04/05", put["datetime"]); err != nil || dt.Unix() != int64(end) {
		t.Errorf("datetime %q (%v) is not end_time %v in UTC", put["datetime"], err, end)
	}
	get := parse(lines[2])
	if get["bytes_sent"] != "12345" || get["bytes_recvd"] != "-" || get["status_int"] != "200" ||
		get["transaction_id"] != getResp.Header.Get("X-Trans-Id") || get["client_ip"] != "127.0.0.1" {
		t.Errorf("GET line: %v", get)
	}
	if head := parse(lines[3]); head["policy_index"] != "-" || head["bytes_sent"] != "-" || head["status_int"] != "204" {
		t.Errorf("account HEAD line: %v", head)
	}
}

// Bodies written with SetBodyStreamWriter (listings, large objects) are
// counted as sent, and a client that hangs up mid-body still ends the
// request's record (in-flight back to 0, a 200 line with what was sent).
func TestProxyLoggingCountsStreams(t *testing.T) {
	m := metrics.New(metrics.Options{})
	al := proxylogging.NewAccessLog(io.Discard, nil)
	l := &proxylogging.Logging{Metrics: m.HTTP, Access: al}
	chunk := strings.Repeat("s", 4096)
	h := proxy.Serve(l.Middleware(proxylogging.APISwift)(func(ctx *fasthttp.RequestCtx) error {
		n := 100
		if string(ctx.Path()) == "/endless" {
			n = 1 << 20
		}
		proxy.SetBodyStreamWriter(ctx, func(w *bufio.Writer) {
			for i := 0; i < n; i++ {
				if _, err := w.WriteString(chunk); err != nil {
					return
				}
				if err := w.Flush(); err != nil {
					return
				}
			}
		})
		return nil
	}))
	t.Cleanup(func() { al.Close() })
	base := serve(t, h)
	resp, err := http.Get(base + "/v1/a/c")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) != 100*4096 {
		t.Fatalf("got %d bytes", len(b))
	}
	waitMetric(t, m, "swiftbox_http_response_body_bytes_total", nil, 100*4096)

	resp, err = http.Get(base + "/endless")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(resp.Body, make([]byte, 1<<20))
	resp.Body.Close() // hang up mid-body
	waitMetric(t, m, "swiftbox_http_requests_total", nil, 2)
	waitMetric(t, m, "swiftbox_http_requests_in_flight", nil, 0)
	if got := metricValue(t, m, "swiftbox_http_response_body_bytes_total", nil); got < 100*4096+1<<20 || got >= 100*4096+4096*(1<<20) {
		t.Errorf("bytes sent after a hang-up: %v", got)
	}
}

// A panicking handler is logged and counted as the 500 catch_errors
// answers, and leaves nothing in flight.
func TestProxyLoggingPanics(t *testing.T) {
	m := metrics.New(metrics.Options{})
	l := &proxylogging.Logging{Metrics: m.HTTP}
	h := l.Middleware(proxylogging.APISwift)(func(ctx *fasthttp.RequestCtx) error { panic("boom") })
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic was swallowed")
			}
		}()
		h(&fasthttp.RequestCtx{})
	}()
	if got := metricValue(t, m, "swiftbox_http_requests_total", map[string]string{"status_class": "5xx"}); got != 1 {
		t.Errorf("5xx count %v, want 1", got)
	}
	if got := metricValue(t, m, "swiftbox_http_requests_in_flight", nil); got != 0 {
		t.Errorf("in flight %v, want 0", got)
	}
}

// Reopen starts a new file where the old one was moved away (logrotate).
func TestAccessLogReopen(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/access.log"
	l, err := proxylogging.OpenAccessLog(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Write(&proxylogging.AccessEntry{Method: []byte("GET"), Status: 200})
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Write(&proxylogging.AccessEntry{Method: []byte("PUT"), Status: 201})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if strings.Count(string(old), "\n") != 1 || !strings.Contains(string(old), " GET ") ||
		strings.Count(string(cur), "\n") != 1 || !strings.Contains(string(cur), " PUT ") {
		t.Errorf("rotated %q, current %q", old, cur)
	}
}

// A response stream replaced before the handler returns (an error after
// all) neither ends the record early nor counts; a stream set past
// proxy.SetBodyStream counts as its Content-Length.
func TestProxyLoggingReplacedStreams(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Options{})
	l := &proxylogging.Logging{Metrics: m.HTTP}
	h := proxy.Serve(l.Middleware(proxylogging.APISwift)(func(ctx *fasthttp.RequestCtx) error {
		switch string(ctx.Path()) {
		case "/replaced":
			proxy.SetBodyStream(ctx, strings.NewReader(strings.Repeat("r", 100)), 100)
			ctx.SetStatusCode(503)
			ctx.SetBodyString("gone")
		case "/direct":
			ctx.SetBodyStream(strings.NewReader(strings.Repeat("d", 50)), 50)
		}
		return nil
	}))
	base := serve(t, h)
	get := func(path string, want int) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(b) != want {
			t.Fatalf("%s: %d bytes, want %d", path, len(b), want)
		}
	}
	get("/replaced", 4)
	waitMetric(t, m, "swiftbox_http_requests_total", map[string]string{"status_class": "5xx"}, 1)
	waitMetric(t, m, "swiftbox_http_response_body_bytes_total", nil, 4)
	get("/direct", 50)
	waitMetric(t, m, "swiftbox_http_requests_total", nil, 2)
	waitMetric(t, m, "swiftbox_http_response_body_bytes_total", nil, 54)
	waitMetric(t, m, "swiftbox_http_requests_in_flight", nil, 0)
}

// serve serves h on a loopback port until the test ends; it returns the
// base URL.
func serve(t *testing.T, h fasthttp.RequestHandler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := proxy.NewHTTPServer(h, nil, "t")
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}
