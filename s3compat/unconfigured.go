package s3compat

import (
	"encoding/xml"
)

// Bucket configurations swiftbox does not support (lifecycle,
// encryption, website, replication, object lock, …): setting one is
// NotImplemented, as s3api answers, but reading one tells the truth the
// way S3 does for a bucket without it — "not configured" — so that tools
// which read every configuration of a bucket (Terraform's AWS provider,
// for one) work.

type unconfigured struct {
	status int
	code   string
	msg    string
	// doc, when set, is answered with 200 instead of an error: S3's empty
	// configuration for sub-resources that always have one.
	doc any
}

type emptyDoc struct {
	XMLName xml.Name
	Xmlns   string `xml:"xmlns,attr"`
}

type requestPayment struct {
	XMLName xml.Name `xml:"RequestPaymentConfiguration"`
	Xmlns   string   `xml:"xmlns,attr"`
	Payer   string   `xml:"Payer"`
}

var unconfiguredBucket = map[string]unconfigured{
	"lifecycle":         {404, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist", nil},
	"encryption":        {404, "ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found", nil},
	"website":           {404, "NoSuchWebsiteConfiguration", "The specified bucket does not have a website configuration", nil},
	"replication":       {404, "ReplicationConfigurationNotFoundError", "The replication configuration was not found", nil},
	"object-lock":       {404, "ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket", nil},
	"ownershipControls": {404, "OwnershipControlsNotFoundError", "The bucket ownership controls were not found", nil},
	"publicAccessBlock": {404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found", nil},
	"logging":           {doc: emptyDoc{XMLName: xml.Name{Local: "BucketLoggingStatus"}, Xmlns: xmlns}},
	"notification":      {doc: emptyDoc{XMLName: xml.Name{Local: "NotificationConfiguration"}, Xmlns: xmlns}},
	"accelerate":        {doc: emptyDoc{XMLName: xml.Name{Local: "AccelerateConfiguration"}, Xmlns: xmlns}},
	"requestPayment":    {doc: requestPayment{Xmlns: xmlns, Payer: "BucketOwner"}},
}

// unconfiguredGet answers GET (and DELETE) of sub, an unsupported
// bucket configuration.
func (r *req) unconfiguredGet(m, sub string) *Error {
	u := unconfiguredBucket[sub]
	if st, _ := r.headContainer(r.bucket); st/100 != 2 {
		return swiftError(st, "bucket", r.bucket, "")
	}
	if m == "DELETE" {
		r.ctx.SetStatusCode(204) // nothing configured, nothing to delete
		return nil
	}
	if u.doc != nil {
		writeXML(r.ctx, u.doc)
		return nil
	}
	return s3err(u.status, u.code, u.msg).with("BucketName", r.bucket)
}
