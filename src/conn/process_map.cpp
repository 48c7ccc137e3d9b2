#include "conn/process_map.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <memory>
#include <optional>
#include <string_view>

#include "core/unique_fd.hpp"

namespace picket::conn {

namespace {

struct DirCloser {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// A decimal number made only of digits (a /proc entry name, an inode), or nullopt.
template <typename T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  if (s.empty() || s.size() > 19) return std::nullopt;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// The inode of a "socket:[12345]" link target, or nullopt for any other file.
std::optional<uint64_t> socket_inode(std::string_view target) {
  constexpr std::string_view kPrefix = "socket:[";
  if (target.size() <= kPrefix.size() + 1 || target.substr(0, kPrefix.size()) != kPrefix || target.back() != ']') {
    return std::nullopt;
  }
  return parse_number<uint64_t>(target.substr(kPrefix.size(), target.size() - kPrefix.size() - 1));
}

// The first line of a small file (a comm), "" when it cannot be read.
std::string read_line(const std::string& path) {
  core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return {};
  char buf[64];
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return {};
  std::string_view s(buf, static_cast<size_t>(n));
  if (const auto nl = s.find('\n'); nl != std::string_view::npos) s = s.substr(0, nl);
  return std::string(s);
}

}  // namespace

ProcessMap::ProcessMap(std::string proc_root, size_t max_entries)
    : root_(std::move(proc_root)), max_entries_(max_entries) {}

size_t ProcessMap::lookup(Snapshot& snap) {
  // Every socket again, not only the unknown ones: a scan may have moved an inode to a new holder.
  size_t unknown = 0;
  for (Socket& s : snap.sockets) {
    s.pid = -1;
    s.process = 0;
    if (s.inode == 0) continue;
    const auto it = owner_.find(s.inode);
    if (it != owner_.end() && comm_.contains(it->second.pid)) {
      s.pid = it->second.pid;
      it->second.generation = generation_;
    } else {
      ++unknown;
    }
  }
  return unknown;
}

std::vector<int32_t> ProcessMap::list_pids() const {
  std::vector<int32_t> pids;
  DirPtr d(::opendir(root_.c_str()));
  if (!d) return pids;
  while (const dirent* e = ::readdir(d.get())) {
    if (const auto pid = parse_number<int32_t>(e->d_name); pid && *pid > 0) pids.push_back(*pid);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

void ProcessMap::scan_pid(int32_t pid) {
  const std::string dir = root_ + "/" + std::to_string(pid);
  comm_[pid] = read_line(dir + "/comm");
  ++stats_.pids_scanned;
  DirPtr d(::opendir((dir + "/fd").c_str()));
  if (!d) {
    if (errno == EACCES || errno == EPERM) ++stats_.denied;
    return;  // otherwise gone meanwhile (ENOENT): nothing to learn
  }
  const int dfd = ::dirfd(d.get());
  char target[64];
  while (const dirent* e = ::readdir(d.get())) {
    if (e->d_name[0] == '.') continue;
    const ssize_t n = ::readlinkat(dfd, e->d_name, target, sizeof(target));
    if (n <= 0 || static_cast<size_t>(n) >= sizeof(target)) continue;
    const auto inode = socket_inode(std::string_view(target, static_cast<size_t>(n)));
    if (!inode) continue;
    const auto it = owner_.find(*inode);
    if (it == owner_.end()) {
      if (owner_.size() >= max_entries_) {
        ++stats_.not_cached;
        continue;
      }
      owner_.emplace(*inode, Owner{pid, generation_});
    } else if (!comm_.contains(it->second.pid)) {
      it->second = Owner{pid, generation_};  // its holder died: the socket was passed on
    }
  }
}

void ProcessMap::full_scan(const std::vector<int32_t>& pids, core::Timestamp now) {
  ++stats_.full_scans;
  full_scanned_ = true;
  last_full_ = now;
  owner_.clear();
  comm_.clear();
  // Ascending pids: of several holders (a socket inherited across fork), the lowest keeps it.
  for (int32_t pid : pids) scan_pid(pid);
}

void ProcessMap::resolve(Snapshot& snap, core::Timestamp now, core::Duration full_rescan) {
  ++generation_;
  size_t unknown = lookup(snap);
  if (unknown > 0) {
    ++stats_.scans;
    const std::vector<int32_t> pids = list_pids();
    const bool first = !full_scanned_;  // nothing known yet: every pid is new anyway
    if (first) {
      full_scan(pids, now);
    } else {
      std::erase_if(comm_, [&](const auto& kv) { return !std::binary_search(pids.begin(), pids.end(), kv.first); });
      for (int32_t pid : pids) {
        if (!comm_.contains(pid)) scan_pid(pid);
      }
    }
    unknown = lookup(snap);
    // Still unknown: a new socket of a process scanned before, or one we may not read. Only a
    // full scan finds the former, and it is paced by full_rescan.
    if (unknown > 0 && !first && now - last_full_ >= full_rescan) {
      full_scan(pids, now);
      unknown = lookup(snap);
    }
  }
  stats_.unresolved += unknown;
  if (owner_.size() > 2 * snap.sockets.size() + 4096) {
    std::erase_if(owner_, [&](const auto& kv) { return kv.second.generation != generation_; });
  }
  name_processes(snap);
}

void ProcessMap::name_processes(Snapshot& snap) {
  pids_.clear();
  for (const Socket& s : snap.sockets) {
    if (s.pid >= 0) pids_.push_back(s.pid);
  }
  std::sort(pids_.begin(), pids_.end());
  pids_.erase(std::unique(pids_.begin(), pids_.end()), pids_.end());
  snap.process_names.clear();
  snap.process_names.emplace_back();
  for (int32_t pid : pids_) {
    const auto it = comm_.find(pid);
    snap.process_names.push_back(it == comm_.end() ? std::string() : it->second);
  }
  for (Socket& s : snap.sockets) {
    if (s.pid < 0) continue;
    const auto at = std::lower_bound(pids_.begin(), pids_.end(), s.pid);
    s.process = static_cast<uint32_t>(at - pids_.begin()) + 1;
  }
}

}  // namespace picket::conn
