// ProcessMap on a made-up /proc tree: owners, names, the incremental refresh and its bounds.
#include "conn/process_map.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace picket::conn {
namespace {

namespace fs = std::filesystem;
using core::Duration;
using core::Timestamp;

class FakeProc {
 public:
  FakeProc() {
    std::string tmpl = (fs::temp_directory_path() / "picket_proc_XXXXXX").string();
    root_ = ::mkdtemp(tmpl.data());
  }
  ~FakeProc() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const std::string& root() const { return root_; }

  void process(int pid, const std::string& comm) {
    fs::create_directories(fs::path(root_) / std::to_string(pid) / "fd");
    std::ofstream(fs::path(root_) / std::to_string(pid) / "comm") << comm << "\n";
  }
  void fd(int pid, int fd, const std::string& target) {
    fs::create_symlink(target, fs::path(root_) / std::to_string(pid) / "fd" / std::to_string(fd));
  }
  void socket(int pid, int fd_number, uint64_t inode) { fd(pid, fd_number, "socket:[" + std::to_string(inode) + "]"); }
  void kill(int pid) { fs::remove_all(fs::path(root_) / std::to_string(pid)); }

 private:
  std::string root_;
};

Snapshot snapshot_of(std::initializer_list<uint64_t> inodes) {
  Snapshot s;
  for (uint64_t i : inodes) {
    Socket k;
    k.proto = kProtoTcp;
    k.inode = i;
    s.sockets.push_back(k);
  }
  return s;
}

const Timestamp kT0 = Timestamp::from_parts(1'000, 0);
const Duration kFull = Duration::seconds(60);

TEST(ProcessMap, NamesOwners) {
  FakeProc proc;
  proc.process(100, "nginx");
  proc.socket(100, 3, 1001);
  proc.fd(100, 4, "/dev/null");
  proc.fd(100, 5, "pipe:[1002]");
  proc.process(200, "curl");
  proc.socket(200, 3, 2001);
  proc.fd(200, 4, "socket:[bad]");
  proc.fd(200, 5, "socket:[2002");
  fs::create_directories(fs::path(proc.root()) / "self");  // not a pid
  ProcessMap map(proc.root());
  Snapshot s = snapshot_of({1001, 2001, 3003, 0, 1002});
  map.resolve(s, kT0, kFull);
  EXPECT_EQ(s.sockets[0].pid, 100);
  EXPECT_EQ(s.sockets[1].pid, 200);
  EXPECT_EQ(s.sockets[2].pid, -1);
  EXPECT_EQ(s.sockets[3].pid, -1);
  EXPECT_EQ(s.sockets[4].pid, -1);  // a pipe with the same number is not a socket
  ASSERT_EQ(s.process_names.size(), 3u);
  EXPECT_EQ(s.process_names[0], "");
  EXPECT_EQ(s.process_name(s.sockets[0]), "nginx");
  EXPECT_EQ(s.process_name(s.sockets[1]), "curl");
  EXPECT_EQ(s.process_name(s.sockets[2]), "");
  EXPECT_EQ(map.stats().pids_scanned, 2u);
  EXPECT_EQ(map.stats().full_scans, 1u);  // the first scan is a full one, and only one
  EXPECT_EQ(map.stats().unresolved, 2u);
}

TEST(ProcessMap, IncrementalRefresh) {
  FakeProc proc;
  proc.process(100, "nginx");
  proc.socket(100, 3, 1001);
  ProcessMap map(proc.root());
  Snapshot s = snapshot_of({1001});
  map.resolve(s, kT0, kFull);
  EXPECT_EQ(s.sockets[0].pid, 100);
  EXPECT_EQ(map.stats().scans, 1u);
  EXPECT_EQ(map.stats().full_scans, 1u);

  // Known inodes only: /proc is not read at all.
  map.resolve(s, kT0 + Duration::seconds(1), kFull);
  EXPECT_EQ(map.stats().scans, 1u);
  EXPECT_EQ(s.sockets[0].pid, 100);

  // A new process: only it is scanned.
  proc.process(300, "sshd");
  proc.socket(300, 7, 3003);
  s = snapshot_of({1001, 3003});
  map.resolve(s, kT0 + Duration::seconds(2), kFull);
  EXPECT_EQ(s.sockets[0].pid, 100);
  EXPECT_EQ(s.sockets[1].pid, 300);
  EXPECT_EQ(s.process_name(s.sockets[1]), "sshd");
  EXPECT_EQ(map.stats().scans, 2u);
  EXPECT_EQ(map.stats().pids_scanned, 2u);
  EXPECT_EQ(map.stats().full_scans, 1u);

  // A new socket of a known process needs a full scan, which waits for full_rescan.
  proc.socket(100, 4, 1004);
  s = snapshot_of({1001, 3003, 1004});
  map.resolve(s, kT0 + Duration::seconds(30), kFull);
  EXPECT_EQ(s.sockets[2].pid, -1);
  EXPECT_EQ(map.stats().full_scans, 1u);
  map.resolve(s, kT0 + Duration::seconds(59), kFull);
  EXPECT_EQ(s.sockets[2].pid, -1);
  map.resolve(s, kT0 + Duration::seconds(60), kFull);
  EXPECT_EQ(s.sockets[2].pid, 100);
  EXPECT_EQ(s.sockets[1].pid, 300);
  EXPECT_EQ(map.stats().full_scans, 2u);
  EXPECT_EQ(map.stats().unresolved, 2u);

  // full_rescan 0: every unknown inode is looked for at once (one full scan per refresh at most).
  proc.socket(300, 8, 3008);
  s = snapshot_of({3008, 99});
  map.resolve(s, kT0 + Duration::seconds(61), Duration::nanos(0));
  EXPECT_EQ(s.sockets[0].pid, 300);
  EXPECT_EQ(map.stats().full_scans, 3u);
}

TEST(ProcessMap, DeadProcessAndSharedSocket) {
  FakeProc proc;
  proc.process(100, "parent");
  proc.process(150, "child");
  proc.socket(150, 3, 5005);  // inherited across fork: both hold it
  proc.socket(100, 3, 5005);
  proc.process(200, "gone");
  proc.socket(200, 3, 2001);
  ProcessMap map(proc.root());
  Snapshot s = snapshot_of({5005, 2001});
  map.resolve(s, kT0, kFull);
  EXPECT_EQ(s.sockets[0].pid, 100);  // the lowest pid
  EXPECT_EQ(s.sockets[1].pid, 200);
  EXPECT_EQ(s.process_names.size(), 3u);

  // 200 exits; its socket lives on in a process started since (passed over a unix socket).
  proc.kill(200);
  proc.process(400, "heir");
  proc.socket(400, 9, 2001);
  proc.socket(400, 10, 4004);
  s = snapshot_of({5005, 2001, 4004});
  map.resolve(s, kT0 + Duration::seconds(1), kFull);
  EXPECT_EQ(s.sockets[2].pid, 400);
  EXPECT_EQ(s.sockets[1].pid, 400);  // its dead holder's entry passed to the new one
  EXPECT_EQ(s.process_name(s.sockets[1]), "heir");
  EXPECT_EQ(map.stats().full_scans, 1u);
  // Until something makes us list /proc, a dead holder's sockets keep its pid (documented).
  proc.kill(100);
  s = snapshot_of({5005});
  map.resolve(s, kT0 + Duration::seconds(2), kFull);
  EXPECT_EQ(s.sockets[0].pid, 100);
  proc.socket(400, 11, 4011);
  s = snapshot_of({5005, 4011});
  map.resolve(s, kT0 + Duration::seconds(3), kFull);
  EXPECT_EQ(s.sockets[0].pid, -1);  // 100 is gone; 150 holds it but is known: waits for a full scan
  EXPECT_EQ(s.sockets[1].pid, -1);
}

TEST(ProcessMap, BoundedCache) {
  FakeProc proc;
  proc.process(100, "many");
  for (int i = 0; i < 10; ++i) proc.socket(100, 3 + i, 7000 + static_cast<uint64_t>(i));
  ProcessMap map(proc.root(), 4);
  Snapshot s = snapshot_of({7000, 7001, 7002, 7003, 7004, 7005, 7006, 7007, 7008, 7009});
  map.resolve(s, kT0, kFull);
  EXPECT_LE(map.cached(), 4u);
  EXPECT_GT(map.stats().not_cached, 0u);
  size_t resolved = 0;
  for (const auto& k : s.sockets) resolved += k.pid == 100 ? 1 : 0;
  EXPECT_EQ(resolved, map.cached());
}

TEST(ProcessMap, PrunesInodesNoLongerSeen) {
  FakeProc proc;
  proc.process(100, "busy");
  for (int i = 0; i < 5000; ++i) proc.socket(100, 3 + i, 10'000 + static_cast<uint64_t>(i));
  ProcessMap map(proc.root());
  Snapshot s = snapshot_of({10'000});
  map.resolve(s, kT0, kFull);
  EXPECT_EQ(map.cached(), 5000u);                     // one scan's worth, kept for this round
  map.resolve(s, kT0 + Duration::seconds(1), kFull);  // the scan's extras were not seen since
  EXPECT_EQ(map.cached(), 1u);
  EXPECT_EQ(s.sockets[0].pid, 100);
}

TEST(ProcessMap, MissingProcRoot) {
  ProcessMap map("/nonexistent/picket/proc");
  Snapshot s = snapshot_of({1, 2});
  map.resolve(s, kT0, kFull);
  EXPECT_EQ(s.sockets[0].pid, -1);
  EXPECT_EQ(s.process_names.size(), 1u);
  EXPECT_EQ(map.stats().unresolved, 2u);
}

}  // namespace
}  // namespace picket::conn
