package s3compat

import (
	"github.com/valyala/fasthttp"

	"swiftbox/server/proxy"
)

// Authorization: one function, authorize, decides what the caller may do
// with one resource (a bucket, or an object in it) for one operation, in
// this order, deny by default:
//
//  1. the access key's scope (its buckets; read-only keys only read);
//  2. where the bucket is: the caller's account (or s3.anonymous_account
//     for unsigned requests), else another local account that has it;
//  3. the bucket policy, for other accounts' users and unsigned callers:
//     a Deny refuses, an Allow grants the owner's rights in the bucket's
//     containers — except for owner-only settings;
//  4. the S3 ACL grants (another account's bucket, or the amendments to
//     Swift's ACLs of an anonymous_account bucket);
//  5. otherwise the caller's own rights, which Swift's authorization
//     judges (the owner account's users, Swift ACLs).
//
// The request's own resource is authorized once before it runs; every
// secondary resource it touches — a copy source, each key of a
// DeleteObjects — is authorized as its own operation with the caller's
// identity, and touched with what that decision gives.

// access is what authorize found for one resource.
type access struct {
	account string // the account that has the bucket
	foreign *s3ACL // the bucket's ACL when another account's (nil: the caller's own)
	// level is what the caller gets in the bucket's containers (and only
	// there): 0 = its own rights, else proxy.AuthorizedRequest/Owner.
	level int
}

// bucketPlace is where a bucket is, as authorize found it.
type bucketPlace struct {
	account string
	foreign *s3ACL
	h       *fasthttp.ResponseHeader // its container's headers, read past the caller's rights (nil: not read)
	policy  *bucketPolicy            // parsed from h once (a DeleteObjects asks per key)
	parsed  bool
}

// bucketPolicy is the bucket's policy, nil when it has none.
func (p *bucketPlace) bucketPolicy(bucket string) *bucketPolicy {
	if !p.parsed {
		p.parsed = true
		if raw := p.h.Peek(policySysmeta); len(raw) > 0 {
			p.policy, _ = parsePolicy(raw, bucket)
		}
	}
	return p.policy
}

// homeAccount is the caller's account: its own, or s3.anonymous_account.
func (r *req) homeAccount() string {
	if r.id != nil {
		return r.id.Account
	}
	if r.s.cfg.AnonymousAccount != "" {
		return r.s.cfg.AnonymousAccount
	}
	return r.account
}

// inAccount runs fn with the request's account set to acct.
func (r *req) inAccount(acct string, fn func()) {
	own := r.account
	r.account = acct
	defer func() { r.account = own }()
	fn()
}

// keyScope applies the access key's restrictions (swiftbox user key
// create --bucket/--read-only) to op on bucket.
func (r *req) keyScope(op *operation, bucket string) *Error {
	if r.s3key.ReadOnly && !op.read {
		return errAccessDenied
	}
	if bucket != "" && !r.keyAllows(bucket) {
		return errAccessDenied
	}
	return nil
}

// locate finds which account has bucket, as seen by the caller.
func (r *req) locate(bucket string) *bucketPlace {
	if p := r.located[bucket]; p != nil {
		return p
	}
	home := r.homeAccount()
	p := &bucketPlace{account: home}
	defer func() {
		if r.located == nil {
			r.located = map[string]*bucketPlace{}
		}
		r.located[bucket] = p
	}()
	// With one account there is nothing else to look at: no extra
	// request for the requester's own buckets.
	others := false
	for _, a := range r.s.localAccounts() {
		if a != home {
			others = true
			break
		}
	}
	if r.id == nil {
		var st int
		var h *fasthttp.ResponseHeader
		r.inAccount(home, func() { r.preAuthedIn(bucket, func() { st, h = r.headContainer(bucket) }) })
		if st/100 == 2 || !others {
			if st/100 == 2 {
				p.h = h
			}
			return p
		}
	} else if !others {
		return p
	} else {
		var st int
		r.inAccount(home, func() { st, _ = r.headContainer(bucket) })
		if st != 404 {
			return p
		}
	}
	var acct string
	var h *fasthttp.ResponseHeader
	var ok bool
	r.inAccount(home, func() { acct, h, ok = r.findBucket(bucket) })
	if ok {
		p.account, p.h = acct, h
		p.foreign = r.aclOfBucketIn(acct, h)
	}
	return p
}

// authorize decides op on bucket/key (version v when hasVersion) for the
// caller; see the order above.
func (r *req) authorize(op *operation, bucket, key, v string, hasVersion bool) (access, *Error) {
	if e := r.keyScope(op, bucket); e != nil {
		return access{}, e
	}
	if bucket == "" {
		return access{account: r.homeAccount()}, nil
	}
	p := r.locate(bucket)
	a := access{account: p.account, foreign: p.foreign}
	if op == opCreateBucket && p.foreign != nil {
		return a, errBucketAlreadyExists.with("BucketName", bucket)
	}
	if (r.id != nil && p.foreign == nil) || op.perKey || p.h == nil {
		// The caller's own bucket (Swift decides), a request whose keys
		// are judged one by one, or no bucket to judge by.
		return a, nil
	}
	// The bucket policy.
	if pol := p.bucketPolicy(bucket); pol != nil {
		res := "arn:aws:s3:::" + bucket
		if key != "" {
			res += "/" + key
		}
		// Every action the operation needs must be allowed; a Deny of any refuses.
		allow, deny := true, false
		for o := op; o != nil; o = o.also {
			al, dn := pol.decide(policyRequest{requester: r.requester(), action: o.actionFor(hasVersion), resource: res, ctx: r.ctx})
			allow, deny = allow && al, deny || dn
		}
		switch {
		case deny:
			return a, errAccessDenied
		case allow && !op.ownerOnly:
			a.level = proxy.AuthorizedOwner
			return a, nil
		}
	}
	// The ACL grants.
	if p.foreign != nil {
		if e := r.aclAllows(op, p, bucket, key, v, hasVersion); e != nil {
			return a, e
		}
		a.level = proxy.AuthorizedOwner
		return a, nil
	}
	return r.anonymousGrants(op, a, p, bucket, key, v, hasVersion)
}

// aclAllows checks that another account's bucket's (or object's) ACL
// grants the caller what op needs (s3api's acl_handlers table).
func (r *req) aclAllows(op *operation, p *bucketPlace, bucket, key, v string, hasVersion bool) *Error {
	user := r.requester()
	switch {
	case op.perm == "":
		// The bucket's settings, creating and deleting it: its owner's.
		if user != "" && user == p.foreign.Owner {
			return nil
		}
		return errAccessDenied
	case !op.onObject:
		if p.foreign.allows(user, op.perm) {
			return nil
		}
		return errAccessDenied
	}
	h, st := r.headObjectPast(p.account, bucket, key, v, hasVersion)
	if st/100 != 2 {
		// No object to judge by: the bucket's READ decides whether the
		// requester may learn that.
		if p.foreign.allows(user, "READ") {
			return nil
		}
		return errAccessDenied
	}
	if objectACLOf(h, p.foreign).allows(user, op.perm) {
		return nil
	}
	return errAccessDenied
}

// headObjectPast HEADs bucket/key in acct past the caller's rights.
func (r *req) headObjectPast(acct, bucket, key, v string, hasVersion bool) (*fasthttp.ResponseHeader, int) {
	var st int
	var h *fasthttp.ResponseHeader
	r.inAccount(acct, func() {
		r.preAuthedIn(bucket, func() {
			resp := r.sub("HEAD", bucket, key, versionQuery(v, hasVersion), nil)
			resp.CloseBodyStream()
			st, h = resp.StatusCode(), &resp.Header
		})
	})
	return h, st
}

// anonymousGrants amends Swift's ACLs of an anonymous_account bucket
// with its S3 ACLs: AllUsers WRITE (Swift's write ACLs take no
// referrers) lets anonymous writes in, and an object whose own ACL does
// not grant AllUsers READ is not public in a public bucket. Swift's ACLs
// grant only reading and writing: a .r:* container lets anyone HEAD it
// and its objects, which is not the right to read their ACLs or the
// bucket's settings. Those need an S3 grant to AllUsers (READ_ACP,
// WRITE_ACP) or are the owner's alone, and an unsigned caller is never
// the owner.
func (r *req) anonymousGrants(op *operation, a access, p *bucketPlace, bucket, key, v string, hasVersion bool) (access, *Error) {
	bacl := decodeACL(string(p.h.Peek(containerACLSys)))
	switch {
	case op.perm == "":
		return a, errAccessDenied
	case op.perm == "READ_ACP" || op.perm == "WRITE_ACP":
		acl := bacl
		if op.onObject {
			h, _ := r.headObjectPast(p.account, bucket, key, v, hasVersion)
			acl = decodeACL(string(h.Peek(objectACLSys)))
		}
		if acl == nil || !acl.allows("", op.perm) {
			return a, errAccessDenied
		}
		a.level = proxy.AuthorizedRequest
	case bacl == nil:
	case op.perm == "WRITE":
		if bacl.allows("", "WRITE") {
			a.level = proxy.AuthorizedRequest
		}
	case op.perm == "READ" && op.onObject:
		h, _ := r.headObjectPast(p.account, bucket, key, v, hasVersion)
		if oacl := decodeACL(string(h.Peek(objectACLSys))); oacl != nil && !oacl.allows("", "READ") {
			return a, errAccessDenied
		}
	}
	return a, nil
}

// authorizeRequest authorizes the request's own operation on its bucket
// and key, and moves it to the account that has the bucket with what the
// decision gives there.
func (r *req) authorizeRequest() *Error {
	v, has := "", false
	if r.key != "" {
		v, has = r.versionID()
	}
	a, e := r.authorize(r.op, r.bucket, r.key, v, has)
	if e != nil {
		return e
	}
	r.account, r.foreign = a.account, a.foreign
	if a.level != 0 {
		r.grant(a.level)
	}
	return nil
}

// with runs fn in a's account with exactly what a gives in bucket's
// containers: the caller's own rights when it gives nothing, not those a
// grant or policy on the request's own bucket gave.
func (r *req) with(a access, bucket string, fn func()) {
	own, foreign := r.account, r.foreign
	prev := r.ctx.UserValue("swiftbox.authorized")
	pa, pc := proxy.GrantScope(r.ctx)
	r.account, r.foreign = a.account, a.foreign
	proxy.SetAuthorized(r.ctx, a.level)
	proxy.SetGrantScope(r.ctx, a.account, bucketContainers(bucket))
	defer func() {
		r.account, r.foreign = own, foreign
		if l, ok := prev.(int); ok {
			proxy.SetAuthorized(r.ctx, l)
		} else {
			proxy.SetAuthorized(r.ctx, 0)
		}
		proxy.SetGrantScope(r.ctx, pa, pc)
	}()
	fn()
}
