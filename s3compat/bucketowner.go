package s3compat

import (
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
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
	r.with(access{account: r.account, foreign: r.foreign, level: proxy.AuthorizedOwner}, container, fn)
}

// grant gives the rest of the request level on its bucket, and only
// there, as an ACL grant or a bucket policy allowed it.
func (r *req) grant(level int) {
	proxy.SetAuthorized(r.ctx, level)
	proxy.SetGrantScope(r.ctx, r.account, bucketContainers(r.bucket))
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
