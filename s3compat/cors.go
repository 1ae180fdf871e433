package s3compat

import (
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"swiftbox/s3compat/s3detect"
)

// Bucket CORS (Put/Get/DeleteBucketCors): the configuration is kept as
// container sysmeta and decides browsers' preflight OPTIONS requests and
// the CORS headers of actual requests that carry an Origin.

const (
	corsSysmeta  = "X-Container-Sysmeta-S3api-Cors"
	maxCORSRules = 100
	maxCORSBody  = 64 << 10
)

type corsRule struct {
	ID             string   `xml:"ID,omitempty"`
	AllowedOrigins []string `xml:"AllowedOrigin"`
	AllowedMethods []string `xml:"AllowedMethod"`
	AllowedHeaders []string `xml:"AllowedHeader,omitempty"`
	ExposeHeaders  []string `xml:"ExposeHeader,omitempty"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds,omitempty"`
}

type corsConfig struct {
	XMLName xml.Name   `xml:"CORSConfiguration"`
	Xmlns   string     `xml:"xmlns,attr,omitempty"`
	Rules   []corsRule `xml:"CORSRule"`
}

var (
	errNoSuchCORS   = s3err(404, "NoSuchCORSConfiguration", "The CORS configuration does not exist")
	errCORSDenied   = s3err(403, "AccessForbidden", "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
	errCORSDisabled = s3err(403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")
)

func parseCORS(body []byte) (*corsConfig, *Error) {
	var c corsConfig
	if err := xml.Unmarshal(body, &c); err != nil || len(c.Rules) == 0 {
		return nil, errMalformedXML
	}
	if len(c.Rules) > maxCORSRules {
		return nil, s3err(400, "InvalidRequest", "The number of CORS rules should not exceed allowed limit of 100 rules.")
	}
	for _, r := range c.Rules {
		if len(r.AllowedOrigins) == 0 || len(r.AllowedMethods) == 0 {
			return nil, errMalformedXML
		}
		for _, m := range r.AllowedMethods {
			switch m {
			case "GET", "PUT", "HEAD", "POST", "DELETE":
			default:
				return nil, s3err(400, "InvalidRequest", "Found unsupported HTTP method in CORS config. Unsupported method is "+m)
			}
		}
		for _, o := range r.AllowedOrigins {
			if strings.Count(o, "*") > 1 {
				return nil, s3err(400, "InvalidRequest", `AllowedOrigin "`+o+`" can not have more than one wildcard.`)
			}
		}
		for _, h := range r.AllowedHeaders {
			if strings.Count(h, "*") > 1 {
				return nil, s3err(400, "InvalidRequest", `AllowedHeader "`+h+`" can not have more than one wildcard.`)
			}
		}
	}
	return &c, nil
}

// wildcardMatch matches s against a pattern with at most one '*'.
func wildcardMatch(pattern, s string) bool {
	before, after, ok := strings.Cut(pattern, "*")
	if !ok {
		return pattern == s
	}
	return len(s) >= len(before)+len(after) && strings.HasPrefix(s, before) && strings.HasSuffix(s, after)
}

// match is the first rule allowing origin, method and every header of
// headers (S3 takes the first that matches).
func (c *corsConfig) match(origin, method string, headers []string) *corsRule {
rules:
	for i := range c.Rules {
		r := &c.Rules[i]
		if !anyMatch(r.AllowedOrigins, origin, false) || !anyMatch(r.AllowedMethods, method, false) {
			continue
		}
		for _, h := range headers {
			if !anyMatch(r.AllowedHeaders, h, true) {
				continue rules
			}
		}
		return r
	}
	return nil
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p, s = strings.ToLower(p), strings.ToLower(s)
		}
		if wildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// setCORSHeaders answers origin as rule allows it.
func setCORSHeaders(h *fasthttp.ResponseHeader, rule *corsRule, origin string, requested []string) {
	allow := origin
	if len(rule.AllowedOrigins) == 1 && rule.AllowedOrigins[0] == "*" {
		allow = "*"
	} else {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Allow-Origin", allow)
	h.Set("Access-Control-Allow-Methods", strings.Join(rule.AllowedMethods, ", "))
	if len(requested) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(requested, ", "))
	}
	if len(rule.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(rule.ExposeHeaders, ", "))
	}
	if rule.MaxAgeSeconds != nil {
		h.Set("Access-Control-Max-Age", strconv.Itoa(*rule.MaxAgeSeconds))
	}
	h.Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
}

// loadCORS reads the bucket's CORS configuration past its ACLs (a
// preflight carries no credentials); nil when it has none.
func (r *req) loadCORS() *corsConfig {
	var st int
	var h *fasthttp.ResponseHeader
	r.preAuthed(func() { st, h = r.headContainer(r.bucket) })
	raw := h.Peek(corsSysmeta)
	if st/100 != 2 || len(raw) == 0 {
		return nil
	}
	c, e := parseCORS(raw)
	if e != nil {
		return nil
	}
	return c
}

// bucketCORS is Put/Get/DeleteBucketCors.
func (r *req) bucketCORS(m string) *Error {
	return r.bucketSettingOp(m, sysmetaSetting{
		sysmeta: corsSysmeta, maxBody: maxCORSBody, none: errNoSuchCORS,
		show: func(raw []byte) *Error {
			c, e := parseCORS(raw)
			if e != nil {
				return errNoSuchCORS.with("BucketName", r.bucket)
			}
			c.Xmlns = xmlns
			writeXML(r.ctx, c)
			return nil
		},
		store: func(body []byte) (string, *Error) {
			c, e := parseCORS(body)
			if e != nil {
				return "", e
			}
			out, _ := xml.Marshal(c)
			return string(out), nil
		},
	})
}

func requestedHeaders(h *fasthttp.RequestHeader) []string {
	var out []string
	for _, v := range strings.Split(string(h.Peek("Access-Control-Request-Headers")), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// preflight answers a CORS preflight (OPTIONS) on a bucket or object.
func (r *req) preflight(bucketInHost string) *Error {
	in := &r.ctx.Request.Header
	origin := string(in.Peek("Origin"))
	if origin == "" {
		return s3err(400, "BadRequest", "Insufficient information. Origin request header needed.")
	}
	method := string(in.Peek("Access-Control-Request-Method"))
	if method == "" {
		return s3err(400, "BadRequest", "Invalid Access-Control-Request-Method: ")
	}
	if e := r.parsePath(bucketInHost); e != nil {
		return e
	}
	if r.bucket == "" || r.account == "" {
		return errCORSDisabled
	}
	if !r.bucketExists() {
		// Another account's bucket (one namespace across the accounts).
		if acct, _, ok := r.findBucket(r.bucket); ok {
			r.account = acct
		}
	}
	c := r.loadCORS()
	if c == nil {
		return errCORSDisabled
	}
	headers := requestedHeaders(in)
	rule := c.match(origin, method, headers)
	if rule == nil {
		return errCORSDenied
	}
	setCORSHeaders(&r.ctx.Response.Header, rule, origin, headers)
	r.ctx.SetStatusCode(200)
	return nil
}

// corsResponse adds CORS headers to the answer of an actual request that
// carries an Origin, when the bucket's configuration allows it (the
// method is Access-Control-Request-Method when sent, as S3 matches).
func (r *req) corsResponse() {
	in := &r.ctx.Request.Header
	origin := string(in.Peek("Origin"))
	if origin == "" || r.bucket == "" {
		return
	}
	c := r.loadCORS()
	if c == nil {
		return
	}
	method := string(in.Peek("Access-Control-Request-Method"))
	if method == "" {
		method = string(r.ctx.Method())
	}
	if rule := c.match(origin, method, nil); rule != nil {
		setCORSHeaders(&r.ctx.Response.Header, rule, origin, nil)
	}
}

// preflightAccount is the account a preflight's bucket is looked up in:
// the access key's named in it (a presigned URL's, say; the preflight
// itself is not signed), else the anonymous account.
func (s *S3) preflightAccount(ctx *fasthttp.RequestCtx) string {
	if s3detect.IsS3Request(ctx) {
		if a, e := s.parseAuth(ctx); e == nil {
			if id, _, _, ok := s.auth.LookupS3(a.access); ok && id != nil {
				return id.Account
			}
		}
	}
	return s.cfg.AnonymousAccount
}
