package s3compat

import (
	"encoding/json"
	"encoding/xml"
	"net"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

// Bucket policies (Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus).
// The policy is kept as container sysmeta, exactly as given, and decides
// unsigned requests and other accounts' users: a statement allowing the
// action to Principal "*" opens it to everyone (a public bucket, as `mc
// anonymous set` or put-bucket-policy make them) or to the users it
// names, an explicit Deny closes it. The owner account's own users are
// decided by Swift's authorization alone.

const (
	policySysmeta = "X-Container-Sysmeta-S3api-Policy"
	maxPolicySize = 20 << 10
)

// stringSet is a policy value that is a string or a list of strings.
type stringSet []string

func (s *stringSet) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stringSet{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// principal is "*" or {"AWS": "*" | ids, "CanonicalUser": ids}.
type principal struct {
	set bool
	ids stringSet
}

func (p *principal) UnmarshalJSON(b []byte) error {
	p.set = true
	var star string
	if err := json.Unmarshal(b, &star); err == nil {
		p.ids = stringSet{star}
		return nil
	}
	var m map[string]stringSet
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for k, v := range m {
		switch k {
		case "AWS", "CanonicalUser":
			p.ids = append(p.ids, v...)
		case "Service", "Federated":
			// AWS services and federated users: none exist here, so such a
			// statement names nobody who can call.
			for _, id := range v {
				p.ids = append(p.ids, k+":"+id)
			}
		default:
			return errUnknownPrincipal
		}
	}
	return nil
}

var errUnknownPrincipal = &json.UnsupportedValueError{Str: "principal type"}

// everyone says whether the principal covers anonymous callers.
func (p principal) everyone() bool {
	for _, id := range p.ids {
		if id == "*" {
			return true
		}
	}
	return false
}

// covers says whether the principal names requester ("" = anonymous):
// "*", or the user's S3 id (account:user), bare or as an IAM user ARN.
func (p principal) covers(requester string) bool {
	if p.everyone() {
		return true
	}
	if requester == "" {
		return false
	}
	for _, id := range p.ids {
		if strings.HasPrefix(id, "Service:") || strings.HasPrefix(id, "Federated:") {
			continue
		}
		if id == requester || strings.HasSuffix(id, ":user/"+requester) {
			return true
		}
	}
	return false
}

type statement struct {
	Sid          string                          `json:"Sid"`
	Effect       string                          `json:"Effect"`
	Principal    principal                       `json:"Principal"`
	NotPrincipal principal                       `json:"NotPrincipal"`
	Action       stringSet                       `json:"Action"`
	NotAction    stringSet                       `json:"NotAction"`
	Resource     stringSet                       `json:"Resource"`
	NotResource  stringSet                       `json:"NotResource"`
	Condition    map[string]map[string]stringSet `json:"Condition"`
}

type bucketPolicy struct {
	Version   string      `json:"Version"`
	ID        string      `json:"Id"`
	Statement []statement `json:"Statement"`
}

func malformedPolicy(msg string) *Error { return s3err(400, "MalformedPolicy", msg) }

// validOperator says whether op is one of IAM's condition operators
// (with their ...IfExists and ForAnyValue:/ForAllValues: forms).
func validOperator(op string) bool {
	op = strings.TrimPrefix(strings.TrimPrefix(op, "ForAnyValue:"), "ForAllValues:")
	op = strings.TrimSuffix(op, "IfExists")
	switch op {
	case "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
		"NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals",
		"DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
		"Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null":
		return true
	}
	return false
}

// Condition keys swiftbox evaluates. A condition on another key (or with
// an operator it does not evaluate) cannot be decided here: an Allow
// with one grants nothing, a Deny with one denies — never more access
// than the policy gives.
var policyKeys = map[string]bool{
	"aws:sourceip": true, "aws:referer": true, "aws:useragent": true, "aws:securetransport": true,
	"s3:prefix": true, "s3:delimiter": true, "s3:x-amz-acl": true,
}

var policyOperators = map[string]bool{
	"StringEquals": true, "StringNotEquals": true, "StringEqualsIgnoreCase": true, "StringNotEqualsIgnoreCase": true,
	"StringLike": true, "StringNotLike": true, "IpAddress": true, "NotIpAddress": true, "Bool": true,
}

// parsePolicy validates a policy for bucket.
func parsePolicy(body []byte, bucket string) (*bucketPolicy, *Error) {
	var p bucketPolicy
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, malformedPolicy("Policies must be valid JSON and the first byte must be '{'")
	}
	if len(p.Statement) == 0 {
		return nil, malformedPolicy("Missing required field Statement")
	}
	for _, st := range p.Statement {
		switch {
		case st.Effect != "Allow" && st.Effect != "Deny":
			return nil, malformedPolicy("Invalid effect: " + st.Effect)
		case st.NotPrincipal.set && st.Effect == "Allow":
			return nil, malformedPolicy("NotPrincipal with Allow is not supported")
		case !st.Principal.set && !st.NotPrincipal.set:
			return nil, malformedPolicy("Missing required field Principal")
		case len(st.Action) == 0 && len(st.NotAction) == 0:
			return nil, malformedPolicy("Missing required field Action")
		case len(st.Resource) == 0 && len(st.NotResource) == 0:
			return nil, malformedPolicy("Missing required field Resource")
		}
		for _, a := range append(append(stringSet{}, st.Action...), st.NotAction...) {
			if a != "*" && !strings.HasPrefix(strings.ToLower(a), "s3:") {
				return nil, malformedPolicy("Policy has invalid action")
			}
		}
		for _, res := range append(append(stringSet{}, st.Resource...), st.NotResource...) {
			rest, ok := strings.CutPrefix(res, "arn:aws:s3:::")
			b, _, _ := strings.Cut(rest, "/")
			if !ok || (b != bucket && !wildcardPath(b, bucket)) {
				return nil, malformedPolicy("Policy has invalid resource")
			}
		}
		for op := range st.Condition {
			if !validOperator(op) {
				return nil, malformedPolicy("Invalid Condition type : " + op)
			}
		}
	}
	return &p, nil
}

// wildcardPath matches IAM wildcards: '*' any run, '?' one character.
func wildcardPath(pattern, s string) bool {
	// path.Match with '/' out of the way (IAM's '*' crosses it) and its
	// own syntax ('\\', '[') taken literally.
	esc := strings.NewReplacer("\\", "\\\\", "[", "\\[", "/", "\x00").Replace(pattern)
	ok, err := path.Match(esc, strings.ReplaceAll(s, "/", "\x00"))
	return err == nil && ok
}

func anyWildcard(patterns stringSet, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p, s = strings.ToLower(p), strings.ToLower(s)
		}
		if p == "*" || wildcardPath(p, s) {
			return true
		}
	}
	return false
}

// policyRequest is what a statement is checked against.
type policyRequest struct {
	requester string // account:user, "" for an unsigned request
	action    string // e.g. s3:GetObject
	resource  string // arn:aws:s3:::bucket[/key]
	ctx       *fasthttp.RequestCtx
}

func (st *statement) applies(q policyRequest) bool {
	switch {
	case st.Principal.set && !st.Principal.covers(q.requester):
		return false
	case st.NotPrincipal.set && st.NotPrincipal.covers(q.requester):
		return false
	case len(st.Action) > 0 && !anyWildcard(st.Action, q.action, true):
		return false
	case len(st.NotAction) > 0 && anyWildcard(st.NotAction, q.action, true):
		return false
	case len(st.Resource) > 0 && !anyWildcard(st.Resource, q.resource, false):
		return false
	case len(st.NotResource) > 0 && anyWildcard(st.NotResource, q.resource, false):
		return false
	}
	for op, kv := range st.Condition {
		for k, want := range kv {
			if !policyOperators[op] || !policyKeys[strings.ToLower(k)] {
				if st.Effect == "Deny" {
					continue // undecidable: the Deny stands
				}
				return false
			}
			if !conditionHolds(op, conditionValue(q.ctx, strings.ToLower(k)), want) {
				return false
			}
		}
	}
	return true
}

func conditionValue(ctx *fasthttp.RequestCtx, key string) string {
	switch key {
	case "aws:sourceip":
		return clientIP(ctx)
	case "aws:referer":
		return string(ctx.Request.Header.Referer())
	case "aws:useragent":
		return string(ctx.Request.Header.UserAgent())
	case "aws:securetransport":
		if ctx.IsTLS() {
			return "true"
		}
		return "false"
	case "s3:prefix":
		return string(ctx.QueryArgs().Peek("prefix"))
	case "s3:delimiter":
		return string(ctx.QueryArgs().Peek("delimiter"))
	case "s3:x-amz-acl":
		return string(ctx.Request.Header.Peek("X-Amz-Acl"))
	}
	return ""
}

func clientIP(ctx *fasthttp.RequestCtx) string {
	host, _, err := net.SplitHostPort(ctx.RemoteAddr().String())
	if err != nil {
		return ctx.RemoteAddr().String()
	}
	return host
}

func conditionHolds(op, got string, want stringSet) bool {
	anyOf := func(f func(w string) bool) bool {
		for _, w := range want {
			if f(w) {
				return true
			}
		}
		return false
	}
	switch op {
	case "StringEquals":
		return anyOf(func(w string) bool { return got == w })
	case "StringNotEquals":
		return !anyOf(func(w string) bool { return got == w })
	case "StringEqualsIgnoreCase":
		return anyOf(func(w string) bool { return strings.EqualFold(got, w) })
	case "StringNotEqualsIgnoreCase":
		return !anyOf(func(w string) bool { return strings.EqualFold(got, w) })
	case "StringLike":
		return anyOf(func(w string) bool { return wildcardPath(w, got) })
	case "StringNotLike":
		return !anyOf(func(w string) bool { return wildcardPath(w, got) })
	case "Bool":
		return anyOf(func(w string) bool { return strings.EqualFold(got, w) })
	case "IpAddress", "NotIpAddress":
		ip := net.ParseIP(got)
		in := anyOf(func(w string) bool {
			if !strings.Contains(w, "/") {
				return ip != nil && ip.Equal(net.ParseIP(w))
			}
			_, n, err := net.ParseCIDR(w)
			return err == nil && ip != nil && n.Contains(ip)
		})
		return in == (op == "IpAddress")
	}
	return false
}

// decide is the policy's say on q: deny when a Deny statement applies,
// allow when an Allow one does and none denies.
func (p *bucketPolicy) decide(q policyRequest) (allow, deny bool) {
	for i := range p.Statement {
		st := &p.Statement[i]
		if st.applies(q) {
			if st.Effect == "Deny" {
				return false, true
			}
			allow = true
		}
	}
	return allow, false
}

// public says whether some statement opens the bucket to everyone
// unconditionally (GetBucketPolicyStatus's IsPublic).
func (p *bucketPolicy) public() bool {
	for _, st := range p.Statement {
		if st.Effect == "Allow" && st.Principal.everyone() && len(st.Condition) == 0 {
			return true
		}
	}
	return false
}

// bucketPolicyOp is Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus.
func (r *req) bucketPolicyOp(m string, status bool) *Error {
	switch {
	case status && m == "GET":
		st, h := r.headContainer(r.bucket)
		if st/100 != 2 {
			return swiftError(st, "bucket", r.bucket, "")
		}
		raw := h.Peek(policySysmeta)
		type result struct {
			XMLName  xml.Name `xml:"PolicyStatus"`
			Xmlns    string   `xml:"xmlns,attr"`
			IsPublic bool     `xml:"IsPublic"`
		}
		public := false
		if p, e := parsePolicy(raw, r.bucket); len(raw) > 0 && e == nil {
			public = p.public()
		}
		writeXML(r.ctx, result{Xmlns: xmlns, IsPublic: public})
		return nil
	case status:
		return errMethodNotAllowed
	}
	return r.bucketSettingOp(m, sysmetaSetting{
		sysmeta: policySysmeta, maxBody: maxPolicySize,
		none:     s3err(404, "NoSuchBucketPolicy", "The bucket policy does not exist"),
		tooLarge: s3err(400, "PolicyTooLarge", "Policy exceeds the maximum allowed document size."),
		show: func(raw []byte) *Error {
			r.ctx.SetStatusCode(200)
			r.ctx.Response.Header.SetContentType("application/json")
			r.ctx.SetBody(raw)
			return nil
		},
		store: func(body []byte) (string, *Error) {
			_, e := parsePolicy(body, r.bucket)
			return string(body), e
		},
	})
}
