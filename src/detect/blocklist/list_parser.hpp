// Parsing one address list (a file's text): plain addresses, CIDR prefixes, address ranges, and
// the FireHOL netset and Spamhaus DROP layouts, which are those plus comments.
//
// Line rules (each line on its own; LF or CRLF; a UTF-8 byte-order mark at the start is skipped):
//  - `#` or `;` starts a comment that runs to the end of the line ("1.2.3.0/24 ; SBL123").
//  - Blank and comment-only lines are skipped.
//  - The entry is the line's first whitespace-separated field: "198.51.100.7", "2001:db8::/32",
//    or an inclusive range "198.51.100.7-198.51.100.20" (split into the fewest prefixes).
//    Anything after it on the line (scores, names) is ignored.
//  - A prefix with bits set past its length ("10.1.2.3/8") is loaded as the masked prefix
//    (10.0.0.0/8) and reported, because such lists usually mean the network.
//  - A malformed entry, a /0 (it would match every packet), a range whose ends differ in family
//    or run backwards, and an over-long line are reported with the line number and skipped;
//    the rest of the text still loads.
// The parser never throws on any input (it may throw std::bad_alloc) and never reports more than
// kMaxProblemsPerList problems per list (one last problem counts the rest).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.hpp"

namespace picket::detect::blocklist {

inline constexpr size_t kMaxProblemsPerList = 100;
inline constexpr size_t kMaxLineBytes = 4096;

struct ListEntry {
  core::Prefix prefix;
  uint32_t line = 0;  // 1-based line number in its list
};

struct ListProblem {
  std::string list;     // the file's path as configured, or "inline"
  uint32_t line = 0;    // 1-based; 0 for problems with the whole file
  bool skipped = true;  // false: the entry was loaded anyway (e.g. masked host bits)
  std::string message;

  // "lists/drop.txt:12: not an address, prefix or range: \"1.2.3\" (skipped)"
  std::string to_string() const;
};

struct ParseCounts {
  uint64_t lines = 0;
  uint64_t entries = 0;    // prefixes appended (a range may give several)
  uint64_t problems = 0;   // all of them, including those past kMaxProblemsPerList
  bool truncated = false;  // stopped at max_entries
};

// Parses `text`, appending its prefixes to `entries` (at most `max_entries` in total in the
// vector) and its problems to `problems`, which name the list `list_name`.
ParseCounts parse_list(std::string_view text, std::string_view list_name, std::vector<ListEntry>& entries,
                       std::vector<ListProblem>& problems, size_t max_entries);

// The inclusive range [first, last] of one family as the fewest covering prefixes, in order;
// empty when the families differ or first > last.
std::vector<core::Prefix> range_to_prefixes(const core::IpAddress& first, const core::IpAddress& last);

}  // namespace picket::detect::blocklist
