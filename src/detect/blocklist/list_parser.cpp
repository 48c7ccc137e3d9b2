#include "detect/blocklist/list_parser.hpp"

#include <charconv>

#include <fmt/format.h>

#include "detect/blocklist/range_index.hpp"

namespace picket::detect::blocklist {

namespace {

using core::IpAddress;
using core::Prefix;

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// The entry text of a line: comments cut, first field only.
std::string_view entry_field(std::string_view line) noexcept {
  const size_t comment = line.find_first_of("#;");
  if (comment != std::string_view::npos) line = line.substr(0, comment);
  size_t b = 0;
  while (b < line.size() && is_space(line[b])) ++b;
  size_t e = b;
  while (e < line.size() && !is_space(line[e])) ++e;
  return line.substr(b, e - b);
}

// User text for a message: quoted, control and non-ASCII bytes escaped, cut after 64 bytes.
std::string quote(std::string_view text) {
  std::string out = "\"";
  const size_t n = text.size() < 64 ? text.size() : 64;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (n < text.size()) out += "...";
  return out;
}

U128 to_key(const IpAddress& a) noexcept {
  U128 k = 0;
  const int bytes = a.is_v6() ? 16 : 4;
  for (int i = 0; i < bytes; ++i) k = (k << 8) | a.bytes()[static_cast<size_t>(i)];
  return k;
}

IpAddress from_key(U128 k, bool v6) noexcept {
  uint8_t b[16] = {};
  const int bytes = v6 ? 16 : 4;
  for (int i = bytes - 1; i >= 0; --i) {
    b[i] = static_cast<uint8_t>(k & 0xFF);
    k >>= 8;
  }
  return v6 ? IpAddress::v6_bytes(b) : IpAddress::v4_bytes(b);
}

int count_trailing_zeros(U128 k, int width) noexcept {
  if (k == 0) return width;
  int n = 0;
  while ((k & 1) == 0) {
    k >>= 1;
    ++n;
  }
  return n;
}

int floor_log2(U128 k) noexcept {  // k > 0
  int n = -1;
  while (k != 0) {
    k >>= 1;
    ++n;
  }
  return n;
}

struct Parsed {
  std::vector<Prefix> prefixes;
  std::string error;  // non-empty: skip the line
  std::string note;   // non-empty: loaded, but worth telling
};

void parse_prefix(std::string_view field, Parsed& out) {
  const size_t slash = field.find('/');
  const auto addr = IpAddress::parse(field.substr(0, slash));
  if (!addr) {
    out.error = fmt::format("not an address, prefix or range: {}", quote(field));
    return;
  }
  int len = addr->bit_width();
  if (slash != std::string_view::npos) {
    const std::string_view num = field.substr(slash + 1);
    int parsed = -1;
    const auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), parsed);
    if (num.empty() || num.size() > 3 || ec != std::errc{} || ptr != num.data() + num.size() || parsed < 0 ||
        parsed > addr->bit_width()) {
      out.error = fmt::format("bad prefix length in {} (0..{} expected)", quote(field), addr->bit_width());
      return;
    }
    len = parsed;
  }
  if (len == 0) {
    out.error = fmt::format("{} matches every address", quote(field));
    return;
  }
  const Prefix p(*addr, len);
  if (p.address() != *addr) out.note = fmt::format("host bits set in {}; loaded as {}", quote(field), p.to_string());
  out.prefixes.push_back(p);
}

void parse_range(std::string_view field, size_t dash, Parsed& out) {
  const auto first = IpAddress::parse(field.substr(0, dash));
  const auto last = IpAddress::parse(field.substr(dash + 1));
  if (!first || !last) {
    out.error = fmt::format("not an address, prefix or range: {}", quote(field));
    return;
  }
  if (first->family() != last->family() || *last < *first) {
    out.error = fmt::format("range {} is empty or mixes IPv4 and IPv6", quote(field));
    return;
  }
  out.prefixes = range_to_prefixes(*first, *last);
  if (out.prefixes.size() == 1 && out.prefixes.front().length() == 0) {
    out.prefixes.clear();
    out.error = fmt::format("{} matches every address", quote(field));
  }
}

}  // namespace

std::string ListProblem::to_string() const {
  std::string out = list;
  if (line != 0) out += fmt::format(":{}", line);
  out += ": ";
  out += message;
  out += skipped ? " (skipped)" : "";
  return out;
}

std::vector<Prefix> range_to_prefixes(const IpAddress& first, const IpAddress& last) {
  std::vector<Prefix> out;
  if (first.family() != last.family() || first.empty() || last < first) return out;
  const bool v6 = first.is_v6();
  const int width = first.bit_width();
  U128 lo = to_key(first);
  const U128 hi = to_key(last);
  const U128 max = v6 ? ~U128{0} : U128{0xFFFFFFFFu};
  if (lo == 0 && hi == max) {
    out.emplace_back(first, 0);
    return out;
  }
  for (;;) {
    // The largest aligned block starting at lo that does not run past hi. hi - lo + 1 cannot
    // overflow here: the whole space was handled above.
    const int align = count_trailing_zeros(lo, width);
    const int fits = floor_log2(hi - lo + 1);
    const int block = align < fits ? align : fits;
    out.emplace_back(from_key(lo, v6), width - block);
    const U128 last_of_block = lo + ((U128{1} << block) - 1);
    if (last_of_block >= hi) break;
    lo = last_of_block + 1;
  }
  return out;
}

ParseCounts parse_list(std::string_view text, std::string_view list_name, std::vector<ListEntry>& entries,
                       std::vector<ListProblem>& problems, size_t max_entries) {
  ParseCounts counts;
  auto problem = [&](uint32_t line, bool skipped, std::string message) {
    ++counts.problems;
    if (counts.problems < kMaxProblemsPerList) {
      problems.push_back({std::string(list_name), line, skipped, std::move(message)});
    }
  };
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  size_t pos = 0;
  uint32_t line_no = 0;
  Parsed parsed;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line_no == UINT32_MAX) {
      problem(0, true, "more lines than can be numbered; the rest is not loaded");
      break;
    }
    ++line_no;
    ++counts.lines;
    if (line.size() > kMaxLineBytes) {
      problem(line_no, true, fmt::format("line longer than {} bytes", kMaxLineBytes));
      continue;
    }
    const std::string_view field = entry_field(line);
    if (field.empty()) continue;
    parsed.prefixes.clear();
    parsed.error.clear();
    parsed.note.clear();
    const size_t dash = field.find('-');
    if (dash != std::string_view::npos && field.find('/') == std::string_view::npos) {
      parse_range(field, dash, parsed);
    } else {
      parse_prefix(field, parsed);
    }
    if (!parsed.error.empty()) {
      problem(line_no, true, std::move(parsed.error));
      continue;
    }
    if (!parsed.note.empty()) problem(line_no, false, std::move(parsed.note));
    if (entries.size() + parsed.prefixes.size() > max_entries) {
      counts.truncated = true;
      problem(line_no, true, fmt::format("the limit of {} entries is reached; the rest is not loaded", max_entries));
      break;
    }
    for (const auto& p : parsed.prefixes) entries.push_back({p, line_no});
    counts.entries += parsed.prefixes.size();
  }
  if (counts.problems >= kMaxProblemsPerList) {
    problems.push_back(
        {std::string(list_name), 0, true,
         fmt::format("{} problems in all; only the first {} are listed", counts.problems, kMaxProblemsPerList - 1)});
  }
  return counts;
}

}  // namespace picket::detect::blocklist
