// Blocklists: the loaded address lists of the blocklist detector — every configured file and the
// inline `addresses`, merged into one longest-prefix-match index per family, minus `exempt`.
//
// Built once at start-up and read-only afterwards, so every worker's detector shares one copy
// (through shared_ptr). Loading never throws except std::bad_alloc, and never stops at the first
// problem: a missing or unreadable file, a malformed line, an over-long file are each reported
// (problems()) and skipped, and detection runs with whatever loaded.
//
// How the app surfaces the problems: after loading the config, call load_lists(cfg), log each
// problems()[i].to_string() as a warning (and refuse to start if it wants to be strict), and keep
// the returned pointer alive until the engine is built: the detectors' create() then reuses the
// same lists instead of reading the files again (see load_lists).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/ip_address.hpp"
#include "detect/blocklist/list_parser.hpp"
#include "detect/blocklist/range_index.hpp"

namespace picket::detect::blocklist {

// Files larger than this are refused (reported), and all lists together hold at most
// kMaxEntries prefixes: a list is data someone downloaded, and must not exhaust memory.
inline constexpr uint64_t kMaxFileBytes = 1ull << 30;
inline constexpr size_t kMaxEntries = size_t{1} << 24;

struct ListSpec {
  std::vector<std::string> files;             // paths, in order (earlier lists win ties)
  std::vector<core::Prefix> inline_prefixes;  // detect.blocklist.addresses: the list "inline"
  std::vector<core::Prefix> exempt;           // never matched, whatever the lists say
};

struct ListInfo {
  std::string name;  // file basename, or "inline"
  std::string path;  // as configured ("" for inline)
  uint64_t lines = 0;
  uint64_t entries = 0;  // prefixes read from it (before duplicates across lists are dropped)
  bool loaded = false;   // the file was read (possibly with skipped lines)
};

class Blocklists {
 public:
  static constexpr uint32_t kNoMatch = 0xFFFFFFFFu;

  struct Entry {
    core::Prefix prefix;
    uint32_t line = 0;  // in its list (inline: the position in `addresses`, from 1)
    uint16_t list = 0;  // index into lists()
  };

  // The entry of the most specific listed prefix holding `a`, or kNoMatch (also for exempt
  // addresses and addresses of no family). The hot path: no allocation, a bit test when unlisted.
  uint32_t lookup(const core::IpAddress& a) const noexcept {
    uint32_t e = kNoMatch;
    if (a.is_v4()) {
      e = v4_.find(a.v4_host_order());
      if (e != kNoMatch && !exempt_v4_.empty() && exempt_v4_.find(a.v4_host_order()) != kNoMatch) return kNoMatch;
    } else if (a.is_v6() && !v6_.empty()) {
      const U128 k = key_v6(a);
      e = v6_.find(k);
      if (e != kNoMatch && !exempt_v6_.empty() && exempt_v6_.find(k) != kNoMatch) return kNoMatch;
    }
    return e;
  }

  const Entry& entry(uint32_t index) const noexcept { return entries_[index]; }
  const ListInfo& list(uint16_t index) const noexcept { return lists_[index]; }
  const std::vector<ListInfo>& lists() const noexcept { return lists_; }
  const std::vector<ListProblem>& problems() const noexcept { return problems_; }

  size_t size() const noexcept { return prefixes_; }  // distinct prefixes indexed
  bool empty() const noexcept { return prefixes_ == 0; }
  size_t duplicates() const noexcept { return duplicates_; }  // repeats of a prefix, dropped
  size_t memory_bytes() const noexcept;

  // The address's 16 bytes as one big-endian number.
  static U128 key_v6(const core::IpAddress& a) noexcept {
    uint64_t hi = 0, lo = 0;
    std::memcpy(&hi, a.bytes().data(), 8);
    std::memcpy(&lo, a.bytes().data() + 8, 8);
    if constexpr (std::endian::native == std::endian::little) {
      hi = __builtin_bswap64(hi);
      lo = __builtin_bswap64(lo);
    }
    return (static_cast<U128>(hi) << 64) | lo;
  }

 private:
  friend std::shared_ptr<const Blocklists> load_lists(const ListSpec& spec);
  void build(std::vector<ListEntry>& parsed, const std::vector<uint16_t>& list_of, const ListSpec& spec);

  std::vector<Entry> entries_;
  std::vector<ListInfo> lists_;
  std::vector<ListProblem> problems_;
  RangeIndex<uint32_t> v4_, exempt_v4_;
  RangeIndex<U128> v6_, exempt_v6_;
  size_t prefixes_ = 0;
  size_t duplicates_ = 0;
};

// Reads and indexes the lists. Never null.
std::shared_ptr<const Blocklists> load_lists(const ListSpec& spec);

// The lists detect.blocklist.{files,addresses,exempt} name. While a result is alive, another
// call for the same settings and unchanged files (same size, modification time and inode)
// returns it instead of loading again — so N workers' detectors share one copy. Never null.
std::shared_ptr<const Blocklists> load_lists(const config::Config& cfg);
ListSpec list_spec(const config::Config& cfg);

}  // namespace picket::detect::blocklist
