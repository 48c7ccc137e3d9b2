// Store behaviour on real files: reopening, kill -9, damaged and foreign files, permissions,
// a busy database.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"
#include "store/schema.hpp"
#include "store/store.hpp"

namespace picket::store {
namespace {

using core::Decision;
using core::DecisionAction;
using core::Duration;
using core::IpAddress;
using core::Prefix;
using core::Timestamp;

constexpr Timestamp kT0 = Timestamp::from_parts(1'800'000'000, 0);

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "picket-store-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) {
      std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
      std::filesystem::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const char* name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Decision block_v4(uint32_t host_order, Duration d, uint32_t tag = 0) {
  Decision x;
  x.action = DecisionAction::block;
  x.target = Prefix(IpAddress::v4(host_order), 32);
  x.duration = d;
  x.decided_at = kT0;
  x.detector = "port_scan";
  x.reason = "batch " + std::to_string(tag);
  return x;
}

std::vector<Decision> sample_batch() {
  std::vector<Decision> out;
  out.push_back(block_v4(0xC6336407, Duration::minutes(5)));  // 198.51.100.7
  Decision v6;
  v6.action = DecisionAction::block;
  v6.target = *Prefix::parse("2001:db8:1::/48");
  v6.duration = Duration::seconds(3600);
  v6.decided_at = kT0;
  v6.detector = "distributed_scan";
  v6.reason = "a /48 scanning";
  out.push_back(v6);
  Decision rl;
  rl.action = DecisionAction::rate_limit;
  rl.target = *Prefix::parse("192.0.2.10");
  rl.port = 443;
  rl.proto = 6;
  rl.rate_per_second = 200;
  rl.duration = Duration::minutes(10);
  rl.decided_at = kT0;
  rl.detector = "spoofed_flood";
  rl.reason = "spoofed SYN flood on 443";
  out.push_back(rl);
  out.push_back(block_v4(0x0A000001, Duration{}));  // 10.0.0.1, no expiry
  return out;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

std::string open_error(const std::string& path) {
  auto s = Store::open(path);
  return s.ok() ? std::string("(opened)") : s.error().message;
}

TEST(StoreFiles, ReopenAfterCloseKeepsEverything) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.file("picket.db");
  auto batch = sample_batch();
  {
    auto s = Store::open(path);
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto r = (*s)->record(batch, kT0);
    ASSERT_TRUE(r.ok()) << r.error().message;
    r = (*s)->mark_applied({&batch[0], 1}, true);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*s)->path(), path);
  }
  auto s = Store::open(path);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto got = (*s)->active(kT0);
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->size(), batch.size());
  size_t matched = 0;
  for (const auto& want : batch) {
    for (const auto& sd : *got) {
      if (sd.decision.target != want.target || sd.decision.action != want.action) continue;
      ++matched;
      EXPECT_EQ(sd.decision.duration, want.duration);
      EXPECT_EQ(sd.decision.detector, want.detector);
      EXPECT_EQ(sd.decision.reason, want.reason);
      EXPECT_EQ(sd.decision.port, want.port);
      EXPECT_EQ(sd.decision.proto, want.proto);
      EXPECT_EQ(sd.decision.rate_per_second, want.rate_per_second);
      EXPECT_EQ(sd.applied, want.target == batch[0].target);
    }
  }
  EXPECT_EQ(matched, batch.size());
  auto o = (*s)->offender(batch[1].target);
  ASSERT_TRUE(o.ok());
  ASSERT_TRUE(o->has_value());
  EXPECT_EQ((*o)->offences, 1u);

  // The file is WAL, versioned and marked as picket's.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  auto one_int = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(raw, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
  };
  EXPECT_EQ(one_int("SELECT max(version) FROM schema_version"), kSchemaVersion);
  EXPECT_EQ(one_int("PRAGMA application_id"), kApplicationId);
  EXPECT_EQ(one_int("SELECT count(*) FROM decisions"), static_cast<int64_t>(batch.size()));
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(raw);
}

TEST(StoreFiles, AnEmptyFileBecomesAStore) {
  TempDir dir;
  const std::string path = dir.file("empty.db");
  write_file(path, "");
  auto s = Store::open(path);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto batch = sample_batch();
  EXPECT_TRUE((*s)->record(batch, kT0).ok());
}

// A child records batches and tells the parent after each record() returns; the parent kills
// it with SIGKILL at a varying point, then every acknowledged batch must be in the file.
TEST(StoreFiles, KillNineLosesNoAcknowledgedBan) {
  constexpr int kRounds = 6;
  constexpr uint32_t kMaxBatches = 400;  // bounds the child if the parent never kills it
  constexpr uint32_t kPerBatch = 5;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(round);
    TempDir dir;
    const std::string path = dir.file("picket.db");
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    core::UniqueFd rd(fds[0]), wr(fds[1]);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      rd.reset();
      auto s = Store::open(path);
      if (!s.ok()) ::_exit(2);
      for (uint32_t b = 0; b < kMaxBatches; ++b) {
        std::vector<Decision> batch;
        for (uint32_t i = 0; i < kPerBatch; ++i)
          batch.push_back(block_v4(0x0A000000u + b * kPerBatch + i, Duration::minutes(10), b));
        if (!(*s)->record(batch, kT0).ok()) ::_exit(3);
        if (::write(wr.get(), &b, sizeof b) != static_cast<ssize_t>(sizeof b)) ::_exit(4);
        // Round 0: the child kills itself the instant record() has returned.
        if (round == 0) ::raise(SIGKILL);
      }
      ::_exit(0);
    }
    wr.reset();
    // Kill after a number of acknowledgements that varies by round (1, 3, 9, ...).
    const uint32_t kill_after = round == 0 ? 1 : std::min<uint32_t>(kMaxBatches / 2, 1u + 3u * round * round);
    uint32_t acked = 0;
    uint32_t last = 0;
    bool eof = false;
    while (acked < kill_after && !eof) {
      pollfd p{rd.get(), POLLIN, 0};
      ASSERT_GT(::poll(&p, 1, 30'000), 0) << "child stalled";
      uint32_t b = 0;
      ssize_t n = ::read(rd.get(), &b, sizeof b);
      if (n == 0) eof = true;
      if (n == static_cast<ssize_t>(sizeof b)) {
        ++acked;
        last = b;
      }
    }
    ::kill(pid, SIGKILL);
    // Acknowledgements already in the pipe when the child died count too.
    for (;;) {
      uint32_t b = 0;
      ssize_t n = ::read(rd.get(), &b, sizeof b);
      if (n != static_cast<ssize_t>(sizeof b)) break;
      ++acked;
      last = b;
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
    ASSERT_GE(acked, 1u);
    ASSERT_EQ(last + 1, acked);

    auto s = Store::open(path);
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto got = (*s)->active(kT0);
    ASSERT_TRUE(got.ok()) << got.error().message;
    std::vector<bool> seen(kMaxBatches * kPerBatch, false);
    for (const auto& sd : *got) {
      uint32_t idx = sd.decision.target.address().v4_host_order() - 0x0A000000u;
      ASSERT_LT(idx, seen.size());
      seen[idx] = true;
    }
    for (uint32_t i = 0; i < acked * kPerBatch; ++i) EXPECT_TRUE(seen[i]) << "lost ban " << i;
    // Whatever was stored beyond the acknowledged batches came in whole batches.
    EXPECT_EQ(got->size() % kPerBatch, 0u);
  }
}

TEST(StoreFiles, NotADatabaseIsAClearError) {
  TempDir dir;
  struct Case {
    const char* name;
    std::string bytes;
  };
  const Case cases[] = {
      {"text.db", std::string("this is not a database, it is a text file\n")},
      {"zeros.db", std::string(8192, '\0')},
      {"pcap.db", std::string("\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8) + std::string(200, 'x')},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.file(c.name);
    write_file(path, c.bytes);
    std::string err = open_error(path);
    EXPECT_NE(err.find(path), std::string::npos) << err;
    EXPECT_NE(err.find("not a database"), std::string::npos) << err;
  }
}

TEST(StoreFiles, DamagedDatabaseIsAClearError) {
  TempDir dir;
  const std::string path = dir.file("damaged.db");
  {
    auto s = Store::open(path);
    ASSERT_TRUE(s.ok()) << s.error().message;
    std::vector<Decision> batch;
    for (uint32_t i = 0; i < 2000; ++i) batch.push_back(block_v4(0x0A000000u + i, Duration::minutes(10), i));
    ASSERT_TRUE((*s)->record(batch, kT0).ok());
  }
  // Overwrite everything after the first page (the header stays valid) with garbage.
  auto size = std::filesystem::file_size(path);
  ASSERT_GT(size, 8192u);
  std::string garbage(size - 4096, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131 + 7) & 0xff);
  {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(4096);
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  std::string err = open_error(path);
  EXPECT_NE(err.find(path), std::string::npos) << err;
  EXPECT_TRUE(err.find("damaged") != std::string::npos || err.find("malformed") != std::string::npos) << err;
}

TEST(StoreFiles, ForeignOrNewerDatabaseIsRefused) {
  TempDir dir;
  struct Case {
    const char* name;
    const char* sql;
    const char* expect;
  };
  const Case cases[] = {
      {"other_app.db", "PRAGMA application_id = 1234; CREATE TABLE t (x);", "not a picket store"},
      {"other_tables.db", "CREATE TABLE customers (name TEXT);", "not a picket store"},
      {"newer.db",
       "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);"
       "INSERT INTO schema_version VALUES (1, 0), (99, 0);",
       "newer"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.file(c.name);
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw, c.sql, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
    auto before = std::filesystem::file_size(path);
    std::string err = open_error(path);
    EXPECT_NE(err.find(path), std::string::npos) << err;
    EXPECT_NE(err.find(c.expect), std::string::npos) << err;
    EXPECT_EQ(std::filesystem::file_size(path), before);  // refused without writing
    EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "delete");  // not switched to WAL
    sqlite3_finalize(st);
    sqlite3_close(raw);
  }
}

TEST(StoreFiles, MissingDirectoryIsAClearError) {
  TempDir dir;
  const std::string path = dir.file("no/such/dir/picket.db");
  std::string err = open_error(path);
  EXPECT_NE(err.find(path), std::string::npos) << err;
  EXPECT_NE(err.find("unable to open"), std::string::npos) << err;
  EXPECT_NE(err.find("does not exist"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("no")));
  EXPECT_NE(open_error("").find("empty path"), std::string::npos);
}

// Runs `body` as an unprivileged user when the test runs as root (root ignores permissions);
// returns the error text the body wrote, or "(opened)".
std::string open_error_unprivileged(const std::string& path) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  core::UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(2);
    std::string err = open_error(path);
    if (::write(wr.get(), err.data(), err.size()) < 0) ::_exit(3);
    ::_exit(0);
  }
  wr.reset();
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "child failed with status " + std::to_string(status);
  return out;
}

TEST(StoreFiles, ReadOnlyDirectoryOrFileIsAClearError) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const bool root = ::geteuid() == 0;
  // Two existing stores: one the (unprivileged) user cannot write, one it can.
  const std::string ro_file = dir.file("ro_file.db");
  const std::string rw_file = dir.file("rw_file.db");
  for (const auto& path : {ro_file, rw_file}) {
    auto s = Store::open(path);
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto batch = sample_batch();
    ASSERT_TRUE((*s)->record(batch, kT0).ok());
  }
  ASSERT_EQ(::chmod(ro_file.c_str(), 0444), 0);
  ASSERT_EQ(::chmod(rw_file.c_str(), 0644), 0);
  if (root) {
    ASSERT_EQ(::chown(rw_file.c_str(), 65534, 65534), 0);
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);  // root's: others may enter, not write
  } else {
    ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0);
  }
  struct Case {
    std::string path;
    const char* expect;
  };
  const Case cases[] = {
      {dir.file("new.db"), "no write permission on directory"},
      {ro_file, "no read/write permission on the file"},
      {rw_file, "no write permission on directory"},  // the -wal file cannot be created
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    std::string err = open_error_unprivileged(c.path);
    EXPECT_NE(err.find(c.path), std::string::npos) << err;
    EXPECT_NE(err.find(c.expect), std::string::npos) << err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("new.db")));
}

TEST(StoreFiles, BusyDatabaseFailsAfterTheTimeoutWithAClearError) {
  TempDir dir;
  const std::string path = dir.file("busy.db");
  auto s = Store::open(path, Store::Options{Duration::millis(100)});
  ASSERT_TRUE(s.ok()) << s.error().message;
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto batch = sample_batch();
  auto r = (*s)->record(batch, kT0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(path), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("locked"), std::string::npos) << r.error().message;
  // Readers are not blocked by the writer (WAL).
  auto got = (*s)->active(kT0);
  EXPECT_TRUE(got.ok());
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  r = (*s)->record(batch, kT0);
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST(StoreFiles, UnreadableRowsAreSkippedAndCounted) {
  TempDir dir;
  const std::string path = dir.file("edited.db");
  {
    auto s = Store::open(path);
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto batch = sample_batch();
    ASSERT_TRUE((*s)->record(batch, kT0).ok());
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "INSERT INTO decisions (target, action, detector, reason, offence, decided_at, created_at, "
                         "expires_at, duration_ns) VALUES ('not-an-address', 'block', 'x', 'y', 1, 0, 0, NULL, 0),"
                         "('10.0.0.1/8', 'block', 'x', 'y', 1, 0, 0, NULL, 0);"
                         "INSERT INTO offenders VALUES ('garbage', 1, 0, 0, 0, 'x');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto s = Store::open(path);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto got = (*s)->active(kT0);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->size(), sample_batch().size());
  EXPECT_EQ((*s)->skipped_rows(), 2u);
  auto all = (*s)->offenders(100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*s)->skipped_rows(), 3u);
}

}  // namespace
}  // namespace picket::store
