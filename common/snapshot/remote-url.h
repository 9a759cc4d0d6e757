// Snapshot locations that are URLs: http://, https:// and s3://bucket/key.
// Parsing, resolving a thin snapshot's relative parent reference against its
// child's URL, and turning s3:// into the HTTP URL that is actually fetched.
#pragma once
#include <string>

namespace hexz {

// True for "http://...", "https://..." and "s3://..." (scheme case-insensitive).
bool is_url(const std::string &s);

// REF resolved against BASE, a URL: an absolute URL is returned as it is; a
// path starting with '/' replaces BASE's path (for s3://, the key); anything
// else replaces BASE's last path component, with "." and ".." segments
// folded (never above the host or bucket).  Throws Error(EINVAL) naming both
// when REF climbs above the root.
std::string resolve_url(const std::string &base, const std::string &ref);

// An s3:// location: "s3://BUCKET/KEY".  Throws Error(EINVAL) naming URL
// when the bucket or key is missing or the bucket name is not valid.
struct S3Location {
  std::string bucket, key;
};
S3Location parse_s3_url(const std::string &url);

// The HTTP(S) URL of an S3 object.  With ENDPOINT (e.g.
// "http://127.0.0.1:9000"), path-style: ENDPOINT/BUCKET/KEY; without,
// AWS's virtual-hosted style https://BUCKET.s3.REGION.amazonaws.com/KEY.
// The key is percent-encoded except for '/' and RFC 3986's unreserved
// characters, as SigV4 canonicalises it.
std::string s3_http_url(const S3Location &loc, const std::string &endpoint, const std::string &region);

// URL for messages: any "user:password@" is replaced by "***@" so that
// credentials never reach a log.
std::string redact_url(const std::string &url);

}  // namespace hexz
