// The list parser, the range index and list loading (files, formats, problems, scale).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "detect/blocklist/blocklists.hpp"
#include "detect/blocklist/list_parser.hpp"
#include "detect/blocklist/range_index.hpp"

namespace picket::detect::blocklist {
namespace {

using core::IpAddress;
using core::Prefix;

IpAddress ip(std::string_view s) {
  auto a = IpAddress::parse(s);
  if (!a) throw std::runtime_error("bad address in test: " + std::string(s));
  return *a;
}
Prefix pfx(std::string_view s) {
  auto p = Prefix::parse(s);
  if (!p) throw std::runtime_error("bad prefix in test: " + std::string(s));
  return *p;
}

// A temporary file that removes itself.
class TempFile {
 public:
  // The file keeps its plain `name` (findings cite the basename) in a directory of its own.
  explicit TempFile(std::string_view content, std::string_view name = "list.txt") {
    static int counter = 0;
    dir_ = fmt::format("{}/picket_bl_{}_{}", ::testing::TempDir(), ::getpid(), counter++);
    ::mkdir(dir_.c_str(), 0700);
    path_ = fmt::format("{}/{}", dir_, name);
    std::ofstream out(path_, std::ios::binary);
    out << content;
  }
  ~TempFile() {
    std::remove(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

// ---- parser ----

struct ParseCase {
  std::string name;
  std::string text;
  std::vector<std::string> prefixes;    // expected, in order
  std::vector<uint32_t> lines;          // the line of each
  std::vector<uint32_t> problem_lines;  // expected problems (line numbers), in order
};

TEST(ListParser, FormatsAndProblems) {
  const std::vector<ParseCase> cases = {
      {"plain addresses", "198.51.100.7\n2001:db8::1\n", {"198.51.100.7/32", "2001:db8::1/128"}, {1, 2}, {}},
      {"cidr", "203.0.113.0/24\n2001:db8:1::/48\n", {"203.0.113.0/24", "2001:db8:1::/48"}, {1, 2}, {}},
      {"firehol netset",
       "#\n# firehol_level1\n#\n# Maintainer      : FireHOL\n\n0.0.0.0/8\n1.10.16.0/20\n223.254.0.0/16\n",
       {"0.0.0.0/8", "1.10.16.0/20", "223.254.0.0/16"},
       {6, 7, 8},
       {}},
      {"spamhaus drop",
       "; Spamhaus DROP List 2024/01/01 - (c) 2024 The Spamhaus Project\n; Last-Modified: x\n"
       "1.10.16.0/20 ; SBL256894\n1.19.0.0/16 ; SBL434604\n",
       {"1.10.16.0/20", "1.19.0.0/16"},
       {3, 4},
       {}},
      {"crlf and tabs", "198.51.100.1\r\n\t198.51.100.2 \r\n\r\n", {"198.51.100.1/32", "198.51.100.2/32"}, {1, 2}, {}},
      {"bom",
       "\xEF\xBB\xBF"
       "198.51.100.1\n",
       {"198.51.100.1/32"},
       {1},
       {}},
      {"no final newline", "198.51.100.1", {"198.51.100.1/32"}, {1}, {}},
      {"trailing fields ignored", "198.51.100.1 42 scanner\n", {"198.51.100.1/32"}, {1}, {}},
      {"inline hash comment", "198.51.100.1#bad host\n", {"198.51.100.1/32"}, {1}, {}},
      {"range",
       "198.51.100.7-198.51.100.20\n",
       {"198.51.100.7/32", "198.51.100.8/29", "198.51.100.16/30", "198.51.100.20/32"},
       {1, 1, 1, 1},
       {}},
      {"v6 range", "2001:db8::-2001:db8::ffff\n", {"2001:db8::/112"}, {1}, {}},
      {"host bits loaded masked", "10.1.2.3/8\n", {"10.0.0.0/8"}, {1}, {1}},
      {"malformed lines skipped",
       "198.51.100.1\nnot-an-ip\n1.2.3\n1.2.3.4/33\n1.2.3.4/\n1.2.3.4/x\n2001:db8::/129\n198.51.100.2\n",
       {"198.51.100.1/32", "198.51.100.2/32"},
       {1, 8},
       {2, 3, 4, 5, 6, 7}},
      {"bad ranges", "1.2.3.9-1.2.3.1\n1.2.3.1-2001:db8::1\n1.2.3.1-\n0.0.0.0-255.255.255.255\n", {}, {}, {1, 2, 3, 4}},
      {"slash zero refused", "0.0.0.0/0\n::/0\n", {}, {}, {1, 2}},
      {"zone id refused", "fe80::1%eth0\n", {}, {}, {1}},
      {"empty", "", {}, {}, {}},
      {"only comments", "# a\n; b\n   # c\n", {}, {}, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<ListEntry> entries;
    std::vector<ListProblem> problems;
    const ParseCounts counts = parse_list(c.text, "t.txt", entries, problems, kMaxEntries);
    ASSERT_EQ(entries.size(), c.prefixes.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      EXPECT_EQ(entries[i].prefix.to_string(), c.prefixes[i]);
      EXPECT_EQ(entries[i].line, c.lines[i]);
    }
    ASSERT_EQ(problems.size(), c.problem_lines.size());
    for (size_t i = 0; i < problems.size(); ++i) {
      EXPECT_EQ(problems[i].line, c.problem_lines[i]);
      EXPECT_EQ(problems[i].list, "t.txt");
      EXPECT_EQ(problems[i].to_string().rfind(fmt::format("t.txt:{}: ", c.problem_lines[i]), 0), 0u)
          << problems[i].to_string();
    }
    EXPECT_EQ(counts.entries, entries.size());
    EXPECT_EQ(counts.problems, problems.size());
  }
}

TEST(ListParser, HostBitsProblemSaysLoaded) {
  std::vector<ListEntry> entries;
  std::vector<ListProblem> problems;
  (void)parse_list("10.1.2.3/8 ; x\n", "l", entries, problems, kMaxEntries);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_FALSE(problems[0].skipped);
  EXPECT_NE(problems[0].message.find("10.0.0.0/8"), std::string::npos);
  EXPECT_EQ(problems[0].to_string().find("(skipped)"), std::string::npos);
}

TEST(ListParser, BinaryGarbageIsQuotedAndProblemsCapped) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += fmt::format("\x01\xff junk {}\n", i);
  std::vector<ListEntry> entries;
  std::vector<ListProblem> problems;
  const ParseCounts c = parse_list(text, "bin", entries, problems, kMaxEntries);
  EXPECT_TRUE(entries.empty());
  EXPECT_EQ(c.problems, 1000u);
  ASSERT_EQ(problems.size(), kMaxProblemsPerList);
  EXPECT_NE(problems.back().message.find("1000 problems"), std::string::npos);
  for (const auto& p : problems) {
    for (char ch : p.to_string()) EXPECT_TRUE(ch >= 0x20 && ch < 0x7F) << p.to_string();
  }
}

TEST(ListParser, OverlongLineAndEntryLimit) {
  std::vector<ListEntry> entries;
  std::vector<ListProblem> problems;
  const std::string text = std::string(kMaxLineBytes + 1, '1') + "\n198.51.100.1\n198.51.100.2\n198.51.100.3\n";
  const ParseCounts c = parse_list(text, "l", entries, problems, 2);
  EXPECT_TRUE(c.truncated);
  ASSERT_EQ(entries.size(), 2u);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].line, 1u);
  EXPECT_EQ(problems[1].line, 4u);
}

TEST(RangeToPrefixes, CoversExactly) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    uint32_t a = static_cast<uint32_t>(rng());
    uint32_t span = static_cast<uint32_t>(rng() % (i % 3 == 0 ? 100000 : 300));
    uint32_t b = a + span < a ? 0xFFFFFFFFu : a + span;
    const auto ps = range_to_prefixes(IpAddress::v4(a), IpAddress::v4(b));
    ASSERT_FALSE(ps.empty());
    uint64_t next = a;
    for (const auto& p : ps) {  // consecutive, aligned, ending at b
      ASSERT_EQ(p.address().v4_host_order(), next);
      next += uint64_t{1} << (32 - p.length());
    }
    ASSERT_EQ(next, uint64_t{b} + 1);
    ASSERT_LE(ps.size(), 62u);
  }
  EXPECT_TRUE(range_to_prefixes(ip("1.2.3.4"), ip("1.2.3.3")).empty());
  EXPECT_TRUE(range_to_prefixes(ip("1.2.3.4"), ip("::1")).empty());
  EXPECT_EQ(range_to_prefixes(ip("::"), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).front().length(), 0);
  EXPECT_EQ(range_to_prefixes(ip("255.255.255.255"), ip("255.255.255.255")).front().to_string(), "255.255.255.255/32");
}

// ---- the index against a brute-force longest-prefix match ----

struct Ref {
  uint32_t first;
  int len;
  uint32_t value;
};

uint32_t brute_force(const std::vector<Ref>& refs, uint32_t key) {
  uint32_t best = RangeIndex<uint32_t>::kNone;
  int best_len = -1;
  for (const auto& r : refs) {
    const uint32_t last = RangeIndex<uint32_t>::last_of(r.first, r.len);
    if (key < r.first || key > last) continue;
    if (r.len > best_len || (r.len == best_len && r.value < best)) {
      best = r.value;
      best_len = r.len;
    }
  }
  return best;
}

TEST(RangeIndex, MatchesBruteForceV4) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    std::vector<Ref> refs;
    for (uint32_t i = 0; i < 600; ++i) {
      int len = static_cast<int>(rng() % 33);
      uint32_t base = static_cast<uint32_t>(rng());
      if (i > 0 && rng() % 2 == 0) {  // nest inside an earlier prefix, more specific
        const Ref& outer = refs[rng() % refs.size()];
        len = outer.len + static_cast<int>(rng() % static_cast<uint64_t>(33 - outer.len));
        base = outer.first | static_cast<uint32_t>(rng() & (0xFFFFFFFFull >> outer.len));
      }
      if (rng() % 20 == 0 && !refs.empty()) {  // an exact duplicate with a higher value
        refs.push_back({refs.back().first, refs.back().len, i});
        continue;
      }
      const uint32_t mask = len == 0 ? 0 : ~0u << (32 - len);
      refs.push_back({base & mask, len, i});
    }
    std::vector<RangeIndex<uint32_t>::Item> items;
    for (const auto& r : refs) items.push_back({r.first, static_cast<uint8_t>(r.len), r.value});
    RangeIndex<uint32_t> index;
    const auto st = index.build(items);
    EXPECT_EQ(st.prefixes + st.duplicates, refs.size());
    std::vector<uint32_t> probes = {0u, 0xFFFFFFFFu, 0x80000000u};
    for (const auto& r : refs) {
      const uint32_t last = RangeIndex<uint32_t>::last_of(r.first, r.len);
      probes.insert(probes.end(), {r.first, last, r.first - 1, last + 1});
    }
    for (int i = 0; i < 20000; ++i) probes.push_back(static_cast<uint32_t>(rng()));
    for (uint32_t k : probes)
      ASSERT_EQ(index.find(k), brute_force(refs, k)) << fmt::format("seed {} key {:#x}", seed, k);
  }
}

TEST(RangeIndex, V6EdgesAndEmpty) {
  RangeIndex<U128> empty;
  EXPECT_EQ(empty.find(0), RangeIndex<U128>::kNone);
  std::vector<RangeIndex<U128>::Item> items = {
      {Blocklists::key_v6(ip("2001:db8::")), 32, 1},
      {Blocklists::key_v6(ip("2001:db8:1::")), 48, 2},
      {Blocklists::key_v6(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), 128, 3},
      {Blocklists::key_v6(ip("::")), 8, 4},
  };
  RangeIndex<U128> index;
  (void)index.build(items);
  auto at = [&](std::string_view a) { return index.find(Blocklists::key_v6(ip(a))); };
  EXPECT_EQ(at("2001:db8::1"), 1u);
  EXPECT_EQ(at("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), 1u);
  EXPECT_EQ(at("2001:db8:1::5"), 2u);
  EXPECT_EQ(at("2001:db8:2::"), 1u);
  EXPECT_EQ(at("2001:db9::"), RangeIndex<U128>::kNone);
  EXPECT_EQ(at("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), RangeIndex<U128>::kNone);
  EXPECT_EQ(at("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 3u);
  EXPECT_EQ(at("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), RangeIndex<U128>::kNone);
  EXPECT_EQ(at("::1"), 4u);
  EXPECT_EQ(at("100::"), RangeIndex<U128>::kNone);
}

// ---- loading files ----

TEST(LoadLists, FilesInlineExemptAndMostSpecific) {
  TempFile drop("; Spamhaus DROP\r\n203.0.113.0/24 ; SBL1\r\n198.51.100.0/24 ; SBL2\r\n", "drop.txt");
  TempFile netset("# netset\n203.0.113.128/25\n203.0.113.200\n2001:db8::/32\nbogus line\n198.51.100.0/24\n",
                  "level1.netset");
  ListSpec spec;
  spec.files = {drop.path(), netset.path(), "/nonexistent/picket/missing.txt"};
  spec.inline_prefixes = {pfx("192.0.2.7"), pfx("2001:db8:5::/48")};
  spec.exempt = {pfx("198.51.100.64/26")};
  const auto lists = load_lists(spec);
  ASSERT_EQ(lists->lists().size(), 4u);
  EXPECT_EQ(lists->lists()[0].name, "drop.txt");
  EXPECT_TRUE(lists->lists()[0].loaded);
  EXPECT_EQ(lists->lists()[1].name, "level1.netset");
  EXPECT_FALSE(lists->lists()[2].loaded);
  EXPECT_EQ(lists->lists()[3].name, "inline");

  struct Want {
    std::string addr;
    std::string prefix;  // "" = no match
    std::string list;
    uint32_t line;
  };
  const std::vector<Want> wants = {
      {"203.0.113.5", "203.0.113.0/24", "drop.txt", 2},
      {"203.0.113.129", "203.0.113.128/25", "level1.netset", 2},
      {"203.0.113.200", "203.0.113.200/32", "level1.netset", 3},
      {"198.51.100.1", "198.51.100.0/24", "drop.txt", 3},  // listed twice: the first list wins
      {"198.51.100.70", "", "", 0},                        // exempt
      {"198.51.100.128", "198.51.100.0/24", "drop.txt", 3},
      {"2001:db8:5::1", "2001:db8:5::/48", "inline", 2},
      {"2001:db8:6::1", "2001:db8::/32", "level1.netset", 4},
      {"192.0.2.7", "192.0.2.7/32", "inline", 1},
      {"192.0.2.8", "", "", 0},
      {"2001:db9::", "", "", 0},
  };
  for (const auto& w : wants) {
    SCOPED_TRACE(w.addr);
    const uint32_t e = lists->lookup(ip(w.addr));
    if (w.prefix.empty()) {
      EXPECT_EQ(e, Blocklists::kNoMatch);
      continue;
    }
    ASSERT_NE(e, Blocklists::kNoMatch);
    EXPECT_EQ(lists->entry(e).prefix.to_string(), w.prefix);
    EXPECT_EQ(lists->list(lists->entry(e).list).name, w.list);
    EXPECT_EQ(lists->entry(e).line, w.line);
  }
  EXPECT_EQ(lists->lookup(IpAddress{}), Blocklists::kNoMatch);
  EXPECT_EQ(lists->duplicates(), 1u);

  // Problems: the bad line with file:line, the missing file with its reason; nothing else.
  ASSERT_EQ(lists->problems().size(), 2u);
  EXPECT_EQ(lists->problems()[0].to_string().rfind(netset.path() + ":5: ", 0), 0u) << lists->problems()[0].to_string();
  EXPECT_EQ(lists->problems()[1].to_string(),
            "/nonexistent/picket/missing.txt: cannot read the list: No such file or directory (skipped)");
}

TEST(LoadLists, DirectoryAndEmptyFileAreHandled) {
  TempFile empty("", "empty.txt");
  ListSpec spec;
  spec.files = {::testing::TempDir(), empty.path()};
  const auto lists = load_lists(spec);
  EXPECT_TRUE(lists->empty());
  ASSERT_EQ(lists->problems().size(), 1u);
  EXPECT_NE(lists->problems()[0].message.find("directory"), std::string::npos);
  EXPECT_EQ(lists->lookup(ip("1.2.3.4")), Blocklists::kNoMatch);
}

// A million prefixes from the whole address space (the lists are data; nothing is sent), plus
// known entries: every one is found, the most specific wins, and unlisted addresses miss.
TEST(LoadLists, MillionPrefixesScale) {
  std::mt19937_64 rng(42);
  std::string text;
  text.reserve(20u << 20);
  std::vector<std::pair<uint32_t, int>> sample;
  constexpr int kCount = 1'000'000;
  for (int i = 0; i < kCount; ++i) {
    const uint64_t r = rng();
    const int len = 16 + static_cast<int>(r % 17);  // /16 .. /32, most of them long
    uint32_t a = static_cast<uint32_t>(r >> 32);
    a &= len == 32 ? ~0u : ~(~0u >> len);
    if (a >> 24 == 100) continue;  // keep 100.0.0.0/8 unlisted for the misses below
    text += fmt::format("{}.{}.{}.{}/{}\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, len);
    if (i % 1000 == 0) sample.emplace_back(a, len);
  }
  text += "100.1.0.0/16\n100.1.2.0/24\n100.1.2.3\n";
  TempFile big(text, "million.netset");
  text = {};

  ListSpec spec;
  spec.files = {big.path()};
  const auto t0 = std::chrono::steady_clock::now();
  const auto lists = load_lists(spec);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  std::printf("[ info ] loaded %zu prefixes (%zu duplicates) in %lld ms, %.1f MiB\n", lists->size(),
              lists->duplicates(), static_cast<long long>(ms.count()),
              static_cast<double>(lists->memory_bytes()) / (1 << 20));
  EXPECT_TRUE(lists->problems().empty());

  for (const auto& [a, len] : sample) {  // found, by a prefix at least as specific
    for (uint32_t k : {a, RangeIndex<uint32_t>::last_of(a, len)}) {
      const uint32_t e = lists->lookup(IpAddress::v4(k));
      ASSERT_NE(e, Blocklists::kNoMatch);
      EXPECT_TRUE(lists->entry(e).prefix.contains(IpAddress::v4(k)));
      EXPECT_GE(lists->entry(e).prefix.length(), len);
    }
  }
  EXPECT_EQ(lists->entry(lists->lookup(ip("100.1.2.3"))).prefix.to_string(), "100.1.2.3/32");
  EXPECT_EQ(lists->entry(lists->lookup(ip("100.1.2.4"))).prefix.to_string(), "100.1.2.0/24");
  EXPECT_EQ(lists->entry(lists->lookup(ip("100.1.3.4"))).prefix.to_string(), "100.1.0.0/16");
  EXPECT_EQ(lists->lookup(ip("100.2.0.1")), Blocklists::kNoMatch);
  EXPECT_EQ(lists->lookup(ip("100.0.255.255")), Blocklists::kNoMatch);
}

}  // namespace
}  // namespace picket::detect::blocklist
