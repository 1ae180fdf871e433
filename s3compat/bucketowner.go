package s3compat

import (
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server"
)

// S3 has one bucket namespace; Swift has one per account. A bucket the
// requester's account does not have is looked for in the other local
// users' accounts, and when another account has it the request is served
// there as far as the bucket's and objects' S3 ACLs grant the requester
// (as s3api with s3_acl serves everything as the owner once its ACL
// checks pass). Creating a bucket another account has is
// BucketAlreadyExists.

// preAuthed runs fn with the request authorized as the owner of the
// request's bucket (and only there: a link reaching elsewhere is judged
// by the caller's own rights).
func (r *req) preAuthed(fn func()) { r.preAuthedIn(r.bucket, fn) }

// preAuthedIn is preAuthed for container (of r.account).
func (r *req) preAuthedIn(container string, fn func()) {
	prev := r.ctx.UserValue("swiftbox.authorized")
	pa, pc := server.GrantScope(r.ctx)
	server.SetAuthorized(r.ctx, server.AuthorizedOwner)
	server.SetGrantScope(r.ctx, r.account, container)
	defer func() {
		if l, ok := prev.(int); ok {
			server.SetAuthorized(r.ctx, l)
		} else {
			server.SetAuthorized(r.ctx, 0)
		}
		server.SetGrantScope(r.ctx, pa, pc)
	}()
	fn()
}

// grant gives the rest of the request level on its bucket, and only
// there, as an ACL grant or a bucket policy allowed it.
func (r *req) grant(level int) {
	server.SetAuthorized(r.ctx, level)
	server.SetGrantScope(r.ctx, r.account, r.bucket)
}

// bucketSetting says whether a bucket request is about one of its
// settings, which only its owner reads or changes (AWS keeps them so).
func bucketSetting(q *fasthttp.Args) bool {
	for _, sub := range []string{"policy", "policyStatus", "cors", "tagging", "lifecycle", "encryption", "website", "replication",
		"object-lock", "ownershipControls", "publicAccessBlock", "logging", "notification", "accelerate", "requestPayment"} {
		if q.Has(sub) {
			return true
		}
	}
	return false
}

// asCaller runs fn with the requester's own rights: none of the owner's
// that a grant or policy on this request's bucket gave it.
func (r *req) asCaller(fn func()) {
	prev := r.ctx.UserValue("swiftbox.authorized")
	server.SetAuthorized(r.ctx, 0)
	defer func() {
		if l, ok := prev.(int); ok {
			server.SetAuthorized(r.ctx, l)
		}
	}()
	fn()
}

// otherAccounts are the local users' accounts but the request's.
func (r *req) otherAccounts() []string {
	var out []string
	for _, a := range r.s.localAccounts() {
		if a != r.account {
			out = append(out, a)
		}
	}
	return out
}

// localAccounts are the accounts of the local users, worked out again
// at most every two seconds (users change rarely; every S3 request asks).
func (s *S3) localAccounts() []string {
	if s.auth == nil {
		return nil
	}
	s.accounts.mu.Lock()
	defer s.accounts.mu.Unlock()
	if time.Since(s.accounts.at) < 2*time.Second {
		return s.accounts.list
	}
	var list []string
	seen := map[string]bool{}
	for _, u := range s.auth.Users() {
		id, _, ok := s.auth.Lookup(u.Account + ":" + u.Name)
		if !ok || seen[id.Account] {
			continue
		}
		seen[id.Account] = true
		list = append(list, id.Account)
	}
	s.accounts.list, s.accounts.at = list, time.Now()
	return list
}

// findBucket looks for bucket in the other local accounts.
func (r *req) findBucket(bucket string) (string, *fasthttp.ResponseHeader, bool) {
	own := r.account
	defer func() { r.account = own }()
	for _, acct := range r.otherAccounts() {
		r.account = acct
		var st int
		var h *fasthttp.ResponseHeader
		r.preAuthedIn(bucket, func() { st, h = r.headContainer(bucket) })
		if st/100 == 2 {
			return acct, h, true
		}
	}
	return "", nil, false
}

// aclOfBucketIn is the S3 ACL of a bucket of account acct (from its
// container headers h); a bucket without one is its account's, readable
// as far as its Swift read ACL is public.
func (r *req) aclOfBucketIn(acct string, h *fasthttp.ResponseHeader) *s3ACL {
	if a := decodeACL(string(h.Peek(containerACLSys))); a != nil {
		return a
	}
	a := &s3ACL{Owner: acct}
	if strings.Contains(string(h.Peek("X-Container-Read")), ".r:*") {
		a.Grants = append(a.Grants, aclGrant{"READ", "AllUsers"})
	}
	return a
}

// resolveBucket moves the request to the account that has the bucket
// when that is not the requester's, checking the S3 ACLs there.
func (r *req) resolveBucket() *Error {
	if r.bucket == "" {
		return nil
	}
	// With one account there is nothing else to look at: no extra
	// request for the requester's own buckets.
	others := len(r.otherAccounts()) > 0
	if r.id == nil {
		// Anonymous: s3.anonymous_account's buckets as their Swift ACLs
		// say (with the S3 grants' amendments), other accounts' as far as
		// they grant AllUsers.
		if r.bucketExists() {
			if r.policyAllowed {
				return nil // the bucket's policy granted it
			}
			return r.anonymousGrants()
		}
		if !others {
			return nil
		}
	} else if !others {
		return nil
	} else if st, _ := r.headContainer(r.bucket); st != 404 {
		return nil
	}
	acct, h, ok := r.findBucket(r.bucket)
	if !ok {
		return nil
	}
	m := string(r.ctx.Method())
	if r.key == "" && m == "PUT" && r.ctx.QueryArgs().Len() == 0 {
		return errBucketAlreadyExists.with("BucketName", r.bucket)
	}
	r.account = acct
	r.foreign = r.aclOfBucketIn(acct, h)
	if allowed, e := r.policyDecides(); e != nil || allowed {
		return e
	}
	if e := r.authorizeForeign(m); e != nil {
		return e
	}
	r.grant(server.AuthorizedOwner)
	return nil
}

// authorizeForeign checks that the bucket's or object's ACL grants the
// requester what the operation needs (s3api's acl_handlers table).
func (r *req) authorizeForeign(m string) *Error {
	q := r.ctx.QueryArgs()
	user := r.requester()
	bucketNeeds := func(perm string) *Error {
		if r.foreign.allows(user, perm) {
			return nil
		}
		return errAccessDenied
	}
	if r.key == "" {
		switch {
		case q.Has("acl"):
			if m == "GET" {
				return bucketNeeds("READ_ACP")
			}
			return bucketNeeds("WRITE_ACP")
		case q.Has("delete"):
			return bucketNeeds("WRITE")
		case q.Has("versioning") || q.Has("location") || bucketSetting(q):
			if user == r.foreign.Owner {
				return nil
			}
			return errAccessDenied
		case m == "GET" || m == "HEAD":
			return bucketNeeds("READ")
		}
		// Deleting or re-creating the bucket is its owner's alone.
		return errAccessDenied
	}
	objectNeeds := func(perm string) *Error {
		var st int
		var h *fasthttp.ResponseHeader
		v, has := r.versionID()
		r.preAuthed(func() {
			resp := r.sub("HEAD", r.bucket, r.key, versionQuery(v, has), nil)
			resp.CloseBodyStream()
			st, h = resp.StatusCode(), &resp.Header
		})
		if st/100 != 2 {
			// No object to judge by: the bucket's READ decides whether
			// the requester may learn that.
			return bucketNeeds("READ")
		}
		if objectACLOf(h, r.foreign).allows(user, perm) {
			return nil
		}
		return errAccessDenied
	}
	switch {
	case q.Has("acl"):
		if m == "GET" {
			return objectNeeds("READ_ACP")
		}
		return objectNeeds("WRITE_ACP")
	case m == "GET" || m == "HEAD":
		return objectNeeds("READ")
	}
	return bucketNeeds("WRITE")
}

// isWrite reports whether the request writes into the bucket (S3's
// bucket WRITE permission).
func (r *req) isWrite() bool {
	m, q := string(r.ctx.Method()), r.ctx.QueryArgs()
	if q.Has("acl") {
		return false
	}
	if r.key == "" {
		return m == "POST" && q.Has("delete")
	}
	return m == "PUT" || m == "POST" || m == "DELETE"
}

// anonymousGrants amends Swift's ACLs of an anonymous_account bucket
// with its S3 ACLs: AllUsers WRITE (Swift's write ACLs take no
// referrers) lets anonymous writes in, and an object whose own ACL does
// not grant AllUsers READ is not public in a public bucket.
func (r *req) anonymousGrants() *Error {
	var bh *fasthttp.ResponseHeader
	r.preAuthed(func() { _, bh = r.headContainer(r.bucket) })
	bacl := decodeACL(string(bh.Peek(containerACLSys)))
	if bacl == nil {
		return nil
	}
	if r.isWrite() {
		if bacl.allows("", "WRITE") {
			r.grant(server.AuthorizedRequest)
		}
		return nil
	}
	if m := string(r.ctx.Method()); r.key == "" || (m != "GET" && m != "HEAD") || r.ctx.QueryArgs().Has("acl") {
		return nil
	}
	var oh *fasthttp.ResponseHeader
	r.preAuthed(func() {
		v, has := r.versionID()
		resp := r.sub("HEAD", r.bucket, r.key, versionQuery(v, has), nil)
		resp.CloseBodyStream()
		oh = &resp.Header
	})
	if oacl := decodeACL(string(oh.Peek(objectACLSys))); oacl != nil && !oacl.allows("", "READ") {
		return errAccessDenied
	}
	return nil
}
