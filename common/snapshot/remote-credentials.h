// AWS credentials and region for S3 requests, found as the AWS tools find
// them: the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
// variables, else the profile AWS_PROFILE (or "default") of
// ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE overrides the path); the
// region from AWS_REGION, AWS_DEFAULT_REGION, the profile's region in
// ~/.aws/config (AWS_CONFIG_FILE), else us-east-1.
//
// The secret and token are never put into a message.
#pragma once
#include <string>

namespace hexz {

struct AwsCredentials {
  std::string access_key, secret_key, session_token, region;
  bool anonymous() const { return access_key.empty(); }
};

// Throws Error(EINVAL) when a key is given without its secret (or the other
// way round), naming the variable or file but not the value.  With no
// credentials anywhere the result is anonymous (public buckets).
AwsCredentials load_aws_credentials();

}  // namespace hexz
