#include "remote-credentials.h"

#include <cstdlib>
#include <fstream>
#include <map>

#include "error.h"

namespace hexz {

namespace {

std::string env(const char *name) {
  const char *v = std::getenv(name);
  return v ? v : "";
}

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// The KEY = VALUE pairs of section SECTION of an INI file (empty if the file
// or the section does not exist).
std::map<std::string, std::string> ini_section(const std::string &path, const std::string &section) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      inside = line == "[" + section + "]";
      continue;
    }
    size_t eq = line.find('=');
    if (inside && eq != std::string::npos) out[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return out;
}

std::string home_file(const char *var, const char *rel) {
  std::string p = env(var);
  if (!p.empty()) return p;
  std::string home = env("HOME");
  return home.empty() ? std::string() : home + "/" + rel;
}

}  // namespace

AwsCredentials load_aws_credentials() {
  AwsCredentials c;
  std::string profile = env("AWS_PROFILE");
  if (profile.empty()) profile = "default";

  c.access_key = env("AWS_ACCESS_KEY_ID");
  c.secret_key = env("AWS_SECRET_ACCESS_KEY");
  if (!c.access_key.empty() || !c.secret_key.empty()) {
    if (c.access_key.empty() || c.secret_key.empty())
      throw Error("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together", EINVAL);
    c.session_token = env("AWS_SESSION_TOKEN");
  } else {
    std::string file = home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    if (!file.empty()) {
      auto sec = ini_section(file, profile);
      c.access_key = sec["aws_access_key_id"];
      c.secret_key = sec["aws_secret_access_key"];
      c.session_token = sec["aws_session_token"];
      if (c.access_key.empty() != c.secret_key.empty())
        throw Error(file + ": profile [" + profile + "] needs both aws_access_key_id and aws_secret_access_key",
                    EINVAL);
    }
  }

  c.region = env("AWS_REGION");
  if (c.region.empty()) c.region = env("AWS_DEFAULT_REGION");
  if (c.region.empty()) {
    std::string file = home_file("AWS_CONFIG_FILE", ".aws/config");
    if (!file.empty()) {
      c.region = ini_section(file, profile == "default" ? "default" : "profile " + profile)["region"];
    }
  }
  if (c.region.empty()) c.region = "us-east-1";
  return c;
}

}  // namespace hexz
