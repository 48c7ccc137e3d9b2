// libFuzzer target for the blocklist list parser and index: any bytes must parse into entries
// and problems without a crash, a hang or an exception, and every entry loaded must then be
// found by a lookup — by itself or a more specific listed prefix.
// Links: picket_detect_blocklist (which brings picket_detect, picket_config, picket_core, fmt).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "detect/blocklist/blocklists.hpp"
#include "detect/blocklist/list_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace picket::detect::blocklist;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr size_t kMax = 4096;  // keeps one run fast; the limit path is exercised too
  std::vector<ListEntry> entries;
  std::vector<ListProblem> problems;
  const ParseCounts c = parse_list(text, "fuzz.txt", entries, problems, kMax);
  // The contract: counts agree, problems are capped and name their line, entries are valid.
  if (entries.size() > kMax || c.entries != entries.size() || problems.size() > kMaxProblemsPerList) std::abort();
  if (c.problems < problems.size() || c.lines > size + 1) std::abort();
  for (const auto& p : problems) {
    if (p.list != "fuzz.txt" || p.line > c.lines || p.to_string().empty()) std::abort();
  }
  ListSpec spec;
  for (const auto& e : entries) {
    if (e.line == 0 || e.line > c.lines || e.prefix.length() == 0) std::abort();
    if (e.prefix.address().masked(e.prefix.length()) != e.prefix.address()) std::abort();
    spec.inline_prefixes.push_back(e.prefix);
  }
  const auto lists = load_lists(spec);
  for (const auto& e : entries) {
    const uint32_t i = lists->lookup(e.prefix.address());
    if (i == Blocklists::kNoMatch) std::abort();
    const auto& got = lists->entry(i).prefix;
    if (!got.contains(e.prefix.address()) || got.length() < e.prefix.length()) std::abort();
  }
  return 0;
}
