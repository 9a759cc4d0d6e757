// Helpers shared by every component: sizes, UUIDs, paths, the .meta and
// .base side files.

#include <criterion/criterion.h>
#include <csignal>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "overlay-meta.h"
#include "process.h"
#include "same-file.h"
#include "source.h"
#include "unique-fd.h"
#include "unit-helpers.h"
#include "util.h"

using namespace hexz;

Test(util, parse_size) {
  cr_assert_eq(parse_size("65536", "x"), 65536u);
  cr_assert_eq(parse_size("64K", "x"), 65536u);
  cr_assert_eq(parse_size("64k", "x"), 65536u);
  cr_assert_eq(parse_size("256M", "x"), 256u << 20);
  cr_assert_eq(parse_size("1G", "x"), 1u << 30);
  cr_assert_eq(parse_size("2T", "x"), 2ull << 40);
  cr_assert_eq(parse_size("0", "x"), 0u);
  for (const char *bad : {"", "M", "-1", "12Q", "1.5M", "99999999999999999999", "20000000T"})
    cr_assert_throw(parse_size(bad, "x"), Error, "'%s' accepted", bad);
}

Test(util, format_size) {
  cr_assert_eq(format_size(5120ull * 4096), std::string("20.0 MB"));
  cr_assert_eq(format_size(0), std::string("0.0 B"));
  cr_assert_eq(format_size(1023), std::string("1023.0 B"));
  cr_assert_eq(format_size(1536), std::string("1.5 KB"));
  cr_assert_eq(format_size(3ull << 40), std::string("3.0 TB"));
}

Test(util, uuid) {
  Uuid a = uuid_generate(), b = uuid_generate();
  cr_assert(a != b);
  std::string s = uuid_to_string(a);
  cr_assert_eq(s.size(), 36u);
  cr_assert_eq(s[14], '4');
  Uuid c;
  cr_assert(uuid_from_string(s, c));
  cr_assert(c == a);
  cr_assert(!uuid_from_string("0f8fad5b-d9cb-469f-a165-70867728950", c));
  cr_assert(!uuid_from_string("0f8fad5bxd9cb-469f-a165-70867728950e", c));
}

Test(util, paths) {
  cr_assert_eq(relative_path("/x/y/base.st", "/x/z"), std::string("../y/base.st"));
  cr_assert_eq(relative_path("/x/base.st", "/x"), std::string("base.st"));
  // Side files take the overlay's whole name: vm.overlay and vm.ov never share one.
  cr_assert_eq(default_meta_path("vm-state.overlay"), std::string("vm-state.overlay.meta"));
  cr_assert_eq(default_base_path("vm-state.overlay"), std::string("vm-state.overlay.base"));
  cr_assert_eq(default_meta_path("changes"), std::string("changes.meta"));
  cr_assert_throw(check_overlay_name("/a/vm.meta"), Error);
  cr_assert_throw(check_overlay_name("vm.overlay.base"), Error);
  check_overlay_name("/a/vm.overlay");
  check_overlay_name("/a/.meta/vm");
}

static bool fd_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

static size_t open_fds() {
  size_t n = 0;
  if (DIR *d = opendir("/proc/self/fd")) {
    while (readdir(d)) n++;
    closedir(d);
  }
  return n;
}

Test(unique_fd, closes_once_owner_is_gone) {
  int raw = open("/dev/null", O_RDONLY | O_CLOEXEC);
  cr_assert(raw >= 0);
  {
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    cr_assert(!a && b && b.get() == raw);
    UniqueFd c;
    c = std::move(b);
    cr_assert(!b && c.get() == raw && fd_open(raw));
  }
  cr_assert(!fd_open(raw), "the descriptor outlived its owner");
  UniqueFd d(open("/dev/null", O_RDONLY | O_CLOEXEC));
  int kept = d.release();
  cr_assert(!d && fd_open(kept));
  d.reset(kept);
  d.reset();
  cr_assert(!fd_open(kept), "reset() did not close");
}

Test(unique_fd, sources_that_fail_to_open_leak_nothing) {
  size_t before = open_fds();
  for (const char *bad : {"/dev/null", "/proc/self", "/nonexistent/disk.img"})
    cr_assert_throw(open_file_source(bad), Error, "%s accepted as a disk", bad);
  cr_assert_eq(open_fds(), before, "a failed open_file_source leaked a descriptor");
}

Test(process, spawn_and_wait) {
  cr_assert_eq(wait_program(spawn_program({"sh", "-c", "exit 3"})), 3);
  cr_assert_eq(wait_program(spawn_program({"sh", "-c", "kill -9 $$"})), 128 + SIGKILL);
  try {
    spawn_program({"hexz-no-such-program"}, {.package = "hexz-pkg"});
    cr_assert_fail("a missing program was started");
  } catch (const Error &e) {
    std::string m = e.what();
    cr_assert(m.find("hexz-no-such-program") != std::string::npos && m.find("hexz-pkg") != std::string::npos,
              "message names neither program nor package: %s", e.what());
  }
}

Test(process, wait_until_ready) {
  std::string flag = test::scratch_dir() + "/ready-flag";
  auto flag_exists = [&] { return access(flag.c_str(), F_OK) == 0; };
  pid_t p = spawn_program({"sh", "-c", "sleep 0.3; touch " + flag + "; exec sleep 30"});
  cr_assert(!flag_exists());
  cr_assert(wait_until_ready(p, flag_exists, 10) == Readiness::READY);
  kill(p, SIGTERM);
  cr_assert_eq(wait_program(p), 128 + SIGTERM);

  p = spawn_program({"sh", "-c", "exit 1"});
  cr_assert(wait_until_ready(p, [] { return false; }, 10) == Readiness::EXITED);

  p = spawn_program({"sleep", "30"});
  cr_assert(wait_until_ready(p, [] { return false; }, 1) == Readiness::TIMED_OUT);
  cr_assert_eq(kill(p, 0), 0, "TIMED_OUT must leave the child running");
  kill(p, SIGKILL);
  wait_program(p);
}

Test(util, temp_names) {
  std::string scratch = test::scratch_dir();
  setenv("TMPDIR", scratch.c_str(), 1);
  cr_assert_eq(temp_dir(), scratch);
  setenv("TMPDIR", "", 1);
  cr_assert_eq(temp_dir("/var/tmp"), std::string("/var/tmp"));

  std::string d1 = make_temp_dir(scratch, "t"), d2 = make_temp_dir(scratch, "t");
  struct stat st;
  cr_assert(d1 != d2 && d1.rfind(scratch + "/t.", 0) == 0);
  cr_assert(stat(d1.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
  std::string f;
  UniqueFd fd = make_temp_file(d1, ".x", f);
  cr_assert(fd && f.rfind(d1 + "/.x.", 0) == 0 && f.size() == d1.size() + 10);
  cr_assert(fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
  cr_assert(fcntl(fd.get(), F_GETFD) & FD_CLOEXEC);
  cr_assert_throw(make_temp_dir(scratch + "/missing", "t"), Error);
  cr_assert_throw(make_temp_file(scratch + "/missing", "t", f), Error);
}

Test(util, pread_full_throws_on_error) {
  std::string p = test::scratch_dir() + "/ten";
  write_file_atomic(p, "0123456789");
  UniqueFd fd(open(p.c_str(), O_RDONLY | O_CLOEXEC));
  char buf[16];
  cr_assert_eq(pread_full(fd.get(), buf, sizeof buf, 4, p), 6u, "short only at end of file");
  cr_assert_eq(std::string(buf, 6), std::string("456789"));
  UniqueFd dir(open(test::scratch_dir().c_str(), O_RDONLY | O_CLOEXEC));
  try {
    pread_full(dir.get(), buf, sizeof buf, 0, "the-dir");
    cr_assert_fail("reading a directory returned instead of throwing");
  } catch (const Error &e) {
    cr_assert_eq(e.err(), EISDIR);
    cr_assert(std::string(e.what()).rfind("the-dir: read at offset 0", 0) == 0, "message: %s", e.what());
  }
}

Test(util, same_file) {
  std::string d = test::scratch_dir();
  write_file_atomic(d + "/a", "a");
  write_file_atomic(d + "/b", "a");
  cr_assert(link((d + "/a").c_str(), (d + "/hard").c_str()) == 0);
  cr_assert(symlink("a", (d + "/soft").c_str()) == 0);
  cr_assert(same_file(d + "/a", d + "/a"));
  cr_assert(same_file(d + "/a", d + "/./sub/../a"), "another spelling");
  cr_assert(same_file(d + "/hard", d + "/a"), "a hard link");
  cr_assert(same_file(d + "/a", d + "/soft"), "a symlink");
  cr_assert(!same_file(d + "/a", d + "/b"), "equal contents are not the same file");
  cr_assert(same_file(d + "/new", d + "/sub/../new"), "an output not written yet, by path");
  cr_assert(!same_file(d + "/new", d + "/a"));
}

Test(meta, round_trip_and_validation) {
  std::string p = test::scratch_dir() + "/x.meta";
  std::vector<uint64_t> v = {0, 3, 4, 1000};
  write_meta(p, v);
  cr_assert(read_meta(p, 1001) == v);
  cr_assert_throw(read_meta(p, 1000), Error);  // 1000 is beyond a 1000-block disk
  std::string bytes = encode_meta(v);
  cr_assert_throw(parse_meta(bytes.substr(0, 12), 2000, "m"), Error);  // not a multiple of 8
  std::string dup = encode_meta({1, 2, 2});
  cr_assert_throw(parse_meta(dup, 10, "m"), Error);
  std::string unsorted = encode_meta({1, 3, 2});
  cr_assert_throw(parse_meta(unsorted, 10, "m"), Error);
  try {
    parse_meta(unsorted, 10, "/some/where.meta");
  } catch (const Error &e) {
    cr_assert(std::string(e.what()).find("/some/where.meta") != std::string::npos);
    cr_assert(std::string(e.what()).find("out of order") != std::string::npos);
  }
  cr_assert(read_meta(test::scratch_dir() + "/absent.meta", 10).empty());
  cr_assert_throw(read_meta(test::scratch_dir() + "/absent.meta", 10, false), Error);
}

Test(meta, base_record) {
  std::string p = test::scratch_dir() + "/x.base";
  BaseRecord r;
  r.uuid = uuid_generate();
  r.path = "/abs/base.st";
  r.disk_size = 123456789;
  write_base_record(p, r);
  auto got = read_base_record(p);
  cr_assert(got.has_value());
  cr_assert(got->uuid == r.uuid);
  cr_assert_eq(got->path, r.path);
  cr_assert(got->stored[0] != '/', "path= is stored relative to the record's directory: %s", got->stored.c_str());
  cr_assert_eq(got->disk_size, r.disk_size);
  cr_assert(!read_base_record(test::scratch_dir() + "/none.base").has_value());
  write_file_atomic(p, "garbage\n");
  cr_assert_throw(read_base_record(p), Error);
}
