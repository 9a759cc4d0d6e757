// The Storage interface the reader goes through: FileStorage's errors and
// parent resolution, and a Snapshot opened from a storage that is not a
// file (every read it makes goes through that storage).

#include <criterion/criterion.h>
#include <fstream>
#include <iterator>
#include <sys/stat.h>

#include "unit-helpers.h"

using namespace hexz;

static void expect_error(const std::function<void()> &fn, const std::string &want, int err) {
  try {
    fn();
    cr_assert_fail("no error (expected: %s)", want.c_str());
  } catch (const Error &e) {
    cr_assert(std::string(e.what()).find(want) != std::string::npos, "expected '%s' in: %s", want.c_str(), e.what());
    cr_assert_eq(e.err(), err, "errno %d for: %s", e.err(), e.what());
  }
}

Test(storage, file_errors_name_the_file) {
  std::string dir = test::scratch_dir();
  expect_error([&] { FileStorage::open(dir + "/missing.st"); }, dir + "/missing.st", ENOENT);
  expect_error([&] { FileStorage::open(dir); }, "must be a regular file", EINVAL);
  std::string p = dir + "/ten-bytes";
  std::ofstream(p) << "0123456789";
  auto s = FileStorage::open(p);
  cr_assert_eq(s->size(), 10u);
  cr_assert_eq(s->name(), p);
  char buf[16] = {};
  s->read(buf, 4, 3);
  cr_assert_str_eq(buf, "3456");
  expect_error([&] { s->read(buf, 8, 5); }, p + ": short read", EIO);
}

Test(storage, file_open_relative) {
  std::string dir = test::scratch_dir() + "/rel";
  mkdir(dir.c_str(), 0755);
  std::ofstream(dir + "/parent.st") << "parent";
  std::ofstream(dir + "/child.st") << "child";
  auto child = FileStorage::open(dir + "/child.st");
  auto parent = child->open_relative("parent.st");
  cr_assert_eq(parent->name(), dir + "/parent.st");
  cr_assert_eq(parent->size(), 6u);
  auto abs = child->open_relative(dir + "/parent.st");  // absolute: as it is
  cr_assert_eq(abs->name(), dir + "/parent.st");
  expect_error([&] { child->open_relative("nope.st"); }, dir + "/nope.st", ENOENT);
}

Test(storage, snapshot_over_a_storage_that_is_not_a_file) {
  std::string p = test::scratch_dir() + "/mem.st";
  auto disk = test::text_bytes(5 * 65536 + 99, 3);
  test::pack(p, disk, nullptr, WriterOptions());
  auto *mem = new test::MemStorage(test::load_file(p), "mem:vm.st");
  auto s = Snapshot::open(std::unique_ptr<Storage>(mem));
  cr_assert_eq(s->path(), "mem:vm.st");
  cr_assert(test::read_all(*s, StreamId::DISK) == disk);
  cr_assert(!mem->reads().empty());
}

Test(storage, thin_snapshot_needs_open_relative) {
  std::string dir = test::scratch_dir();
  auto base = test::text_bytes(4 * 65536, 1);
  test::pack(dir + "/base-s.st", base, nullptr, WriterOptions());
  auto b = Snapshot::open(dir + "/base-s.st");
  WriterOptions wo;
  wo.parent = std::make_pair(dir + "/base-s.st", b->uuid());
  {
    SnapshotWriter w(dir + "/thin-s.st", wo);
    w.begin_stream(StreamId::DISK, base.size());
    for (uint64_t i = 0; i < 4; i++) w.put_parent(i);
    w.end_stream();
    w.commit();
  }
  // From a file, the parent is found beside it; from a storage without
  // directories the open is refused, naming both.
  cr_assert(test::read_all(*Snapshot::open(dir + "/thin-s.st"), StreamId::DISK) == base);
  expect_error([&] { Snapshot::open(std::make_unique<test::MemStorage>(test::load_file(dir + "/thin-s.st"), "mem:thin")); },
               "mem:thin: cannot open parent snapshot: mem:thin: cannot open base-s.st relative to it", EINVAL);
}
