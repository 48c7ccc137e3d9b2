// Test helper: a strict reader of the Prometheus text exposition format 0.0.4, independent of the
// renderer, so the tests prove the output parses rather than compare it with itself.
// Checks: metric and label names, label-value escapes (only \\ \" \n), float values (+Inf, -Inf,
// NaN), at most one HELP and one TYPE per family, TYPE before the family's samples, samples of a
// family together, no duplicate series, counters named *_total, histograms with _bucket (le,
// cumulative, ending in +Inf), _sum and _count equal to the +Inf bucket.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace picket::metrics::testing {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped
  double value = 0;
};

struct ParsedFamily {
  std::string type = "untyped";
  std::string help;
  bool has_help = false, has_type = false;
  std::vector<Sample> samples;
};

struct Exposition {
  std::map<std::string, ParsedFamily> families;
  std::string error;  // empty when valid: "line N: reason"

  // The value of one series, or nullopt.
  std::optional<double> value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& [fname, f] : families) {
      for (const auto& s : f.samples) {
        if (s.name == name && s.labels == labels) return s.value;
      }
    }
    return std::nullopt;
  }
};

namespace detail {

inline bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
inline bool name_char(char c) {
  return name_start(c) || (c >= '0' && c <= '9');
}
inline bool valid_name(std::string_view s) {
  if (s.empty() || !name_start(s[0])) return false;
  for (char c : s) {
    if (!name_char(c)) return false;
  }
  return true;
}
inline std::optional<double> parse_value(std::string_view v) {
  if (v == "+Inf" || v == "Inf") return INFINITY;
  if (v == "-Inf") return -INFINITY;
  if (v == "NaN") return NAN;
  if (v.empty()) return std::nullopt;
  const std::string s(v);
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  if (s.find_first_not_of("0123456789.eE+-") != std::string::npos) return std::nullopt;  // no "inf", hex
  return d;
}
// The family a sample name belongs to, given the families declared so far.
inline std::string family_of(const std::string& name, const std::map<std::string, ParsedFamily>& fams) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string_view sv(suffix);
    if (name.size() > sv.size() && name.compare(name.size() - sv.size(), sv.size(), sv) == 0) {
      const std::string base = name.substr(0, name.size() - sv.size());
      const auto it = fams.find(base);
      if (it != fams.end() && (it->second.type == "histogram" || it->second.type == "summary")) return base;
    }
  }
  return name;
}

}  // namespace detail

inline Exposition parse_exposition(std::string_view text) {
  Exposition out;
  std::set<std::string> closed;  // families whose samples ended
  std::string current;           // family of the previous sample
  std::set<std::string> series;
  size_t line_no = 0;
  auto fail = [&](const std::string& why) {
    out.error = "line " + std::to_string(line_no) + ": " + why;
    return out;
  };
  if (!text.empty() && text.back() != '\n') return fail("output does not end with a newline");
  size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    const size_t eol = text.find('\n', pos);
    const std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        const bool help = line[2] == 'H';
        const std::string_view rest = line.substr(7);
        const size_t sp = rest.find(' ');
        const std::string name(rest.substr(0, sp));
        if (!detail::valid_name(name)) return fail("bad metric name in HELP/TYPE: " + name);
        if (sp == std::string_view::npos) return fail("HELP/TYPE without text");
        const std::string_view arg = rest.substr(sp + 1);
        if (closed.count(name) || current == name) return fail("HELP/TYPE after samples of " + name);
        ParsedFamily& f = out.families[name];
        if (help) {
          if (f.has_help) return fail("second HELP for " + name);
          for (size_t i = 0; i < arg.size(); ++i) {
            if (arg[i] == '\\') {
              if (i + 1 >= arg.size() || (arg[i + 1] != '\\' && arg[i + 1] != 'n')) return fail("bad escape in HELP");
              ++i;
            }
          }
          f.has_help = true;
          f.help = std::string(arg);
        } else {
          if (f.has_type) return fail("second TYPE for " + name);
          if (arg != "counter" && arg != "gauge" && arg != "histogram" && arg != "summary" && arg != "untyped") {
            return fail("unknown type " + std::string(arg));
          }
          f.has_type = true;
          f.type = std::string(arg);
          if (f.type == "counter" && name.size() < 6) return fail("counter not named *_total: " + name);
          if (f.type == "counter" && name.compare(name.size() - 6, 6, "_total") != 0) {
            return fail("counter not named *_total: " + name);
          }
        }
      }
      continue;  // other comments are allowed
    }
    // A sample: name [{labels}] value [timestamp]
    size_t i = 0;
    while (i < line.size() && detail::name_char(line[i])) ++i;
    Sample s;
    s.name = std::string(line.substr(0, i));
    if (!detail::valid_name(s.name)) return fail("bad metric name");
    std::string label_key;
    if (i < line.size() && line[i] == '{') {
      ++i;
      for (;;) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        const size_t start = i;
        while (i < line.size() && detail::name_char(line[i])) ++i;
        const std::string lname(line.substr(start, i - start));
        if (!detail::valid_name(lname) || lname.find(':') != std::string::npos) return fail("bad label name");
        if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') return fail("expected =\" after label");
        i += 2;
        std::string value;
        for (;;) {
          if (i >= line.size()) return fail("unterminated label value");
          const char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) return fail("dangling backslash");
            const char e = line[i++];
            if (e == '\\')
              value += '\\';
            else if (e == '"')
              value += '"';
            else if (e == 'n')
              value += '\n';
            else
              return fail("bad escape \\" + std::string(1, e));
          } else {
            value += c;
          }
        }
        if (!s.labels.emplace(lname, value).second) return fail("label repeated: " + lname);
        if (i < line.size() && line[i] == ',')
          ++i;
        else if (i < line.size() && line[i] == '}')
          continue;
        else
          return fail("expected , or } in labels");
      }
    }
    if (i >= line.size() || line[i] != ' ') return fail("expected a space before the value");
    ++i;
    const std::string_view rest = line.substr(i);
    const size_t sp = rest.find(' ');
    const auto v = detail::parse_value(rest.substr(0, sp));
    if (!v) return fail("bad value: " + std::string(rest));
    if (sp != std::string_view::npos) {
      const std::string_view ts = rest.substr(sp + 1);
      if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string_view::npos) return fail("bad timestamp");
    }
    s.value = *v;
    const std::string fam = detail::family_of(s.name, out.families);
    if (closed.count(fam)) return fail("samples of " + fam + " are not together");
    if (fam != current) {
      if (!current.empty()) closed.insert(current);
      current = fam;
    }
    for (const auto& [k, lv] : s.labels) label_key += k + "=" + lv + "\x1f";
    if (!series.insert(s.name + "\x1e" + label_key).second) return fail("duplicate series " + s.name);
    out.families[fam].samples.push_back(std::move(s));
  }
  // Histogram rules.
  auto herr = [&](const std::string& why) {
    out.error = why;
    return out;
  };
  for (const auto& [name, f] : out.families) {
    if (f.type != "histogram") continue;
    double prev_le = -INFINITY, prev_count = 0, inf_count = -1;
    std::optional<double> count;
    bool has_sum = false;
    for (const auto& s : f.samples) {
      if (s.name == name + "_bucket") {
        const auto le = s.labels.find("le");
        if (le == s.labels.end()) return herr("histogram " + name + ": bucket without le");
        const auto b = detail::parse_value(le->second);
        if (!b || *b <= prev_le) return herr("histogram " + name + ": le not increasing");
        if (s.value < prev_count) return herr("histogram " + name + ": buckets not cumulative");
        prev_le = *b;
        prev_count = s.value;
        if (std::isinf(*b)) inf_count = s.value;
      } else if (s.name == name + "_sum") {
        has_sum = true;
      } else if (s.name == name + "_count") {
        count = s.value;
      } else {
        return herr("histogram " + name + ": unexpected sample " + s.name);
      }
    }
    if (inf_count < 0) return herr("histogram " + name + ": no +Inf bucket");
    if (!has_sum || !count) return herr("histogram " + name + ": _sum or _count missing");
    if (*count != inf_count) return herr("histogram " + name + ": _count differs from the +Inf bucket");
  }
  return out;
}

}  // namespace picket::metrics::testing
