package s3compat_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"swiftbox/s3compat/s3test"
)

// Reading a configuration swiftbox does not support answers as S3 does
// for a bucket without it (tools such as Terraform read them all);
// setting one is NotImplemented.
func TestS3UnconfiguredBucketSettings(t *testing.T) {
	t.Parallel()
	s := startS3(t, nil)
	c := s3Client(t, s, "test:tester", "testing")
	ctx := context.Background()
	b := aws.String("plain")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	errs := map[string]error{}
	_, errs["NoSuchLifecycleConfiguration"] = c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	_, errs["NoSuchBucketPolicy"] = c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	_, errs["ServerSideEncryptionConfigurationNotFoundError"] = c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	_, errs["NoSuchWebsiteConfiguration"] = c.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: b})
	_, errs["ReplicationConfigurationNotFoundError"] = c.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: b})
	_, errs["ObjectLockConfigurationNotFoundError"] = c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: b})
	_, errs["OwnershipControlsNotFoundError"] = c.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b})
	_, errs["NoSuchPublicAccessBlockConfiguration"] = c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	for code, err := range errs {
		if s3test.Code(err) != code {
			t.Errorf("want %s, got %v", code, err)
		}
	}
	if out, err := c.GetBucketRequestPayment(ctx, &s3.GetBucketRequestPaymentInput{Bucket: b}); err != nil || out.Payer != types.PayerBucketOwner {
		t.Errorf("GetBucketRequestPayment: %v %v", out, err)
	}
	if out, err := c.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: b}); err != nil || out.LoggingEnabled != nil {
		t.Errorf("GetBucketLogging: %v %v", out, err)
	}
	if _, err := c.GetBucketAccelerateConfiguration(ctx, &s3.GetBucketAccelerateConfigurationInput{Bucket: b}); err != nil {
		t.Errorf("GetBucketAccelerateConfiguration: %v", err)
	}
	if _, err := c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b}); err != nil {
		t.Errorf("DeleteBucketPolicy with none: %v", err)
	}
	_, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{
		Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}}}}})
	if s3test.Code(err) != "NotImplemented" {
		t.Errorf("PutBucketEncryption: %v, want NotImplemented", err)
	}
	if _, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("missing")}); s3test.Code(err) != "NoSuchBucket" {
		t.Errorf("GetBucketPolicy of a missing bucket: %v", err)
	}
}
