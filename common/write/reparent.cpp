#include "reparent.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "checksum.h"
#include "error.h"
#include "unique-fd.h"
#include "util.h"

namespace hexz {

namespace {

// Copies [off, off + len) of IN to the same offsets of OUT: copy_file_range
// first (a reflink or server-side copy where the filesystem offers one),
// plain reads and writes where the kernel cannot.
void copy_range(int in, int out, uint64_t off, uint64_t len, const std::string &from, const std::string &to) {
  while (len > 0) {
    loff_t ioff = loff_t(off), ooff = loff_t(off);
    ssize_t n = copy_file_range(in, &ioff, out, &ooff, size_t(std::min<uint64_t>(len, 1ull << 30)), 0);
    if (n > 0) {
      off += uint64_t(n);
      len -= uint64_t(n);
      continue;
    }
    if (n == 0) throw Error(from + ": ends before its data area does (truncated while copying?)", EIO);
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) throw_errno(to + ": copy");
    std::vector<unsigned char> buf(1 << 20);
    while (len > 0) {
      size_t want = size_t(std::min<uint64_t>(len, buf.size()));
      if (pread_full(in, buf.data(), want, off_t(off), from) != want)
        throw Error(from + ": ends before its data area does (truncated while copying?)", EIO);
      pwrite_full(out, buf.data(), want, off_t(off), to);
      off += want;
      len -= want;
    }
  }
}

}  // namespace

void rewrite_parent_ref(const std::string &path, const ParentRef &ref) {
  UniqueFd fd = open_regular(path, O_RDONLY, "a snapshot");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throw_errno(path + ": stat");
  unsigned char hbuf[DATA_START] = {};
  if (pread_full(fd.get(), hbuf, HEADER_SIZE, 0, path) != HEADER_SIZE)
    throw Error(path + ": not a valid hexz snapshot: shorter than its header", EIO);
  Header h = decode_header(hbuf, uint64_t(st.st_size), path);
  if (!(h.incompat_flags & INCOMPAT_PARENT))
    throw Error(path + ": not a thin snapshot (it has no parent to re-point)", EINVAL);

  std::string area(h.file_size - h.data_end, '\0');
  if (pread_full(fd.get(), area.data(), area.size(), off_t(h.data_end), path) != area.size())
    throw Error(path + ": short read of the section area", EIO);

  // The sections again, in their order, back to back from data_end; only
  // the PARENT section's bytes change.
  std::vector<std::string> bytes;
  uint64_t end = h.data_end;
  for (SectionDesc &d : h.sections) {
    std::string b = area.substr(d.offset - h.data_end, d.length);
    if (checksum(b.data(), b.size()) != d.checksum)
      throw Error(path + ": not a valid hexz snapshot: checksum mismatch in section of type " +
                      std::to_string(d.type) + " (not rewriting a damaged file)",
                  EIO);
    if (d.type == uint32_t(SectionType::PARENT)) {
      decode_parent(b, path);  // the old one must be valid too
      b = encode_parent(ref);
    }
    d.offset = end;
    d.length = b.size();
    d.checksum = checksum(b.data(), b.size());
    end += b.size();
    bytes.push_back(std::move(b));
  }
  h.file_size = end;

  AtomicFile out(path, st.st_mode & 07777);
  copy_range(fd.get(), out.fd(), DATA_START, h.data_end - DATA_START, path, out.temp_path());
  for (size_t k = 0; k < bytes.size(); k++)
    pwrite_full(out.fd(), bytes[k].data(), bytes[k].size(), off_t(h.sections[k].offset), out.temp_path());
  encode_header(h, hbuf);
  pwrite_full(out.fd(), hbuf, DATA_START, 0, out.temp_path());
  out.commit();
}

}  // namespace hexz
