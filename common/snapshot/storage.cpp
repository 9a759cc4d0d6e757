#include "storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "remote-storage.h"
#include "remote-url.h"
#include "util.h"

namespace hexz {

Storage::~Storage() = default;

std::unique_ptr<Storage> Storage::open_relative(const std::string &rel) const {
  throw Error(name() + ": cannot open " + rel + " relative to it", EINVAL);
}

std::unique_ptr<Storage> FileStorage::open(const std::string &path) {
  UniqueFd fd = open_regular(path, O_RDONLY, "a snapshot");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throw_errno(path + ": stat");
  return std::unique_ptr<Storage>(new FileStorage(path, std::move(fd), uint64_t(st.st_size)));
}

FileStorage::~FileStorage() = default;

void FileStorage::read(void *buf, size_t len, uint64_t off) {
  size_t n = pread_full(fd_.get(), buf, len, off_t(off), path_);
  if (n != len)
    throw Error(path_ + ": short read: " + std::to_string(len) + " bytes wanted at offset " + std::to_string(off) +
                    ", " + std::to_string(n) + " there (truncated?)",
                EIO);
}

std::unique_ptr<Storage> FileStorage::open_relative(const std::string &rel) const {
  // A local thin snapshot may sit on a parent behind a URL.
  if (is_url(rel)) return open_storage(rel);
  return open(resolve_relative(path_, rel));
}

std::string resolve_relative(const std::string &path, const std::string &rel) {
  if (!rel.empty() && rel[0] == '/') return rel;
  std::string dir = dir_name(path);
  return dir == "." ? rel : dir + "/" + rel;
}

}  // namespace hexz
