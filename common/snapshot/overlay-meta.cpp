#include "overlay-meta.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "endian.h"
#include "error.h"
#include "remote-url.h"
#include "storage.h"
#include "same-file.h"
#include "unique-fd.h"

namespace hexz {

namespace {

constexpr const char *SIDE_ENDINGS[] = {".meta", ".base"};

// The overlay whose side file PATH would be (PATH without ".meta" or
// ".base"), or "" if PATH is not named like a side file.
std::string side_file_owner(const std::string &path) {
  for (const char *end : SIDE_ENDINGS) {
    const size_t n = strlen(end);
    if (path.size() > n && path.compare(path.size() - n, n, end) == 0 && path[path.size() - n - 1] != '/')
      return path.substr(0, path.size() - n);
  }
  return "";
}

}  // namespace

std::string default_meta_path(const std::string &overlay) { return overlay + ".meta"; }
std::string default_base_path(const std::string &overlay) { return overlay + ".base"; }

void check_overlay_name(const std::string &overlay) {
  const std::string owner = side_file_owner(overlay);
  if (!owner.empty())
    throw Error(overlay + ": an overlay must not be named *.meta or *.base: that is the name of a side file of the "
                    "overlay " + owner + " (side files are OVERLAY.meta and OVERLAY.base); choose another name",
                EINVAL);
}

void check_meta_owner(const std::string &overlay, const std::string &meta) {
  if (same_file(meta, overlay))
    throw Error("meta=" + meta + ": this is the overlay " + overlay + " itself", EINVAL);
  if (same_file(meta, default_base_path(overlay)))
    throw Error("meta=" + meta + ": this is the .base record of the overlay " + overlay, EINVAL);
  const std::string owner = side_file_owner(meta);
  struct stat st;
  if (!owner.empty() && stat(owner.c_str(), &st) == 0 && !same_file(owner, overlay))
    throw Error("meta=" + meta + ": this is a side file of the overlay " + owner + ", not of " + overlay +
                    "; refusing to overwrite another overlay's file",
                EINVAL);
}

std::vector<uint64_t> parse_meta(const std::string &bytes, uint64_t max_blocks, const std::string &path) {
  if (bytes.size() % 8 != 0)
    throw Error(path + ": malformed .meta: length " + std::to_string(bytes.size()) + " is not a multiple of 8", EINVAL);
  std::vector<uint64_t> v(bytes.size() / 8);
  auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
  for (size_t i = 0; i < v.size(); i++) {
    v[i] = load_le64(p + 8 * i);
    if (v[i] >= max_blocks)
      throw Error(path + ": malformed .meta: entry " + std::to_string(i) + " names block " + std::to_string(v[i]) +
                      ", beyond the end of the disk (" + std::to_string(max_blocks) + " blocks)",
                  EINVAL);
    if (i > 0 && v[i] <= v[i - 1])
      throw Error(path + ": malformed .meta: entry " + std::to_string(i) + " (block " + std::to_string(v[i]) + ") is " +
                      (v[i] == v[i - 1] ? "a duplicate" : "out of order"),
                  EINVAL);
  }
  return v;
}

namespace {

// The side file PATH opened for reading (a regular file: never a FIFO that
// would block, nor a device), or an empty UniqueFd if it does not exist and
// MISSING_OK.
UniqueFd open_side_file(const std::string &path, const char *what, bool missing_ok) {
  try {
    return open_regular(path, O_RDONLY, what);
  } catch (const Error &e) {
    if (e.err() == ENOENT && missing_ok) return UniqueFd();
    throw;
  }
}

uint64_t file_size(const UniqueFd &fd, const std::string &path) {
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throw_errno(path + ": stat");
  return uint64_t(st.st_size);
}

std::string read_whole(const UniqueFd &fd, uint64_t size, const std::string &path) {
  std::string bytes(size_t(size), '\0');
  size_t n = pread_full(fd.get(), bytes.data(), bytes.size(), 0, path);
  if (n != bytes.size()) throw Error(path + ": short read", EIO);
  return bytes;
}

// A .base record is a few lines; anything larger is not one.
constexpr uint64_t MAX_BASE_RECORD = 64 * 1024;

}  // namespace

uint64_t check_meta_size(const std::string &path, uint64_t max_blocks) {
  UniqueFd fd = open_side_file(path, "a .meta file", true);
  return fd ? check_meta_size(fd, path, max_blocks) : 0;
}

uint64_t check_meta_size(const UniqueFd &fd, const std::string &path, uint64_t max_blocks) {
  const uint64_t size = file_size(fd, path);
  if (size % 8 != 0)
    throw Error(path + ": malformed .meta: length " + std::to_string(size) + " is not a multiple of 8", EINVAL);
  // Checked before anything is read: a sparse .meta of gigabytes must not
  // cost gigabytes of memory.
  if (size / 8 > max_blocks)
    throw Error(path + ": malformed .meta: " + std::to_string(size / 8) + " entries, more than the disk has blocks (" +
                    std::to_string(max_blocks) + ")",
                EINVAL);
  return size / 8;
}

std::vector<uint64_t> read_meta(const std::string &path, uint64_t max_blocks, bool missing_ok) {
  UniqueFd fd = open_side_file(path, "a .meta file", missing_ok);
  if (!fd) return {};
  const uint64_t entries = check_meta_size(fd, path, max_blocks);
  return parse_meta(read_whole(fd, entries * 8, path), max_blocks, path);
}

std::string encode_meta(const std::vector<uint64_t> &blocks) {
  std::string out(blocks.size() * 8, '\0');
  auto *p = reinterpret_cast<unsigned char *>(out.data());
  for (size_t i = 0; i < blocks.size(); i++) store_le64(p + 8 * i, blocks[i]);
  return out;
}

void write_meta(const std::string &path, const std::vector<uint64_t> &blocks) {
  write_file_atomic(path, encode_meta(blocks));
}

std::optional<BaseRecord> read_base_record(const std::string &path) {
  UniqueFd fd = open_side_file(path, "a .base record", true);
  if (!fd) return std::nullopt;
  const uint64_t size = file_size(fd, path);
  if (size > MAX_BASE_RECORD)
    throw Error(path + ": not a hexz base record (" + std::to_string(size) + " bytes; a record is a few lines)", EINVAL);
  std::istringstream in(read_whole(fd, size, path));
  std::string line;
  if (!std::getline(in, line) || line != "hexz-base 1")
    throw Error(path + ": not a hexz base record (first line must be 'hexz-base 1')", EINVAL);
  BaseRecord r;
  bool have_uuid = false, have_path = false;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "uuid") {
      if (!uuid_from_string(v, r.uuid)) throw Error(path + ": malformed uuid '" + v + "'", EINVAL);
      have_uuid = true;
    } else if (k == "path") {
      r.stored = v;
      r.path = v.empty() || is_url(v) ? v : absolute_path(resolve_relative(path, v));
      have_path = !v.empty();
    } else if (k == "disk-size") {
      r.disk_size = parse_size(v, path.c_str());
    }
  }
  if (!have_uuid || !have_path) throw Error(path + ": base record lacks uuid= or path=", EINVAL);
  return r;
}

void write_base_record(const std::string &path, const BaseRecord &r) {
  std::ostringstream o;
  o << "hexz-base 1\n"
    << "uuid=" << uuid_to_string(r.uuid) << "\n"
    << "path=" << relative_path(r.path, dir_name(path)) << "\n"
    << "disk-size=" << r.disk_size << "\n";
  write_file_atomic(path, o.str());
}

}  // namespace hexz
